package io.jvirt.migration;

/**
 * What the user asks ({@code POST /v1/vms/{name}/migrate}); null fields take their defaults.
 *
 * @param destination   {@code tls://HOST:PORT} of the destination jvirtd
 * @param copyStorage   {@code all}: copy every writable disk over NBD; {@code inc}: only each disk's top image, over a
 *                      base the destination has at the same path; null: every disk is shared
 * @param bandwidthMiB  MiB/s for RAM (and mirrors), null: unlimited
 * @param maxDowntimeMs the guest's pause at switch-over may be this long (QEMU's downtime-limit)
 * @param autoConverge  throttle the guest's vCPUs when RAM does not converge
 * @param keepSource    keep the VM defined (shut off, reason migrated) on the source instead of undefining it
 * @param timeoutSeconds the whole migration; then it is cancelled (not once post-copy has started)
 * @param postcopy      enable post-copy on both sides and switch to it as soon as the first pass over RAM is done
 * @param postcopyAfterPrecopy enable post-copy and switch to it only when pre-copy does not converge
 *                      ({@link Convergence}); {@code POST .../migrate/postcopy} switches at any time
 */
public record MigrationRequest(String destination, String copyStorage, Long bandwidthMiB, Long maxDowntimeMs,
                               Boolean autoConverge, Boolean keepSource, Long timeoutSeconds, Boolean postcopy,
                               Boolean postcopyAfterPrecopy) {

    /** post-copy-ram is on for this migration (both sides). */
    boolean postcopyEnabled() {
        return Boolean.TRUE.equals(postcopy) || Boolean.TRUE.equals(postcopyAfterPrecopy);
    }

    boolean copyAll() {
        return "all".equals(copyStorage);
    }

    /** Only the top image of each disk; the destination has the base at the same path. */
    boolean copyInc() {
        return "inc".equals(copyStorage);
    }
}
