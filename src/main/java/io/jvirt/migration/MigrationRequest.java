package io.jvirt.migration;

/**
 * What the user asks ({@code POST /v1/vms/{name}/migration}); null fields take their defaults.
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
 *                      ({@link Convergence}); {@code POST .../migration/postcopy} switches at any time
 * @param parallel      RAM over this many parallel TLS connections (QEMU's multifd, 1..{@value #MAX_PARALLEL}); null:
 *                      one stream
 */
public record MigrationRequest(String destination, String copyStorage, Long bandwidthMiB, Long maxDowntimeMs,
                               Boolean autoConverge, Boolean keepSource, Long timeoutSeconds, Boolean postcopy,
                               Boolean postcopyAfterPrecopy, Integer parallel) {
    static final int MAX_PARALLEL = 16;

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

    /** multifd is on for this migration (both sides). */
    boolean multifd() {
        return parallel != null;
    }

    /** Refuses a bad {@code parallel}, changing nothing. */
    void checkParallel() {
        if (parallel == null) {
            return;
        }
        if (parallel < 1 || parallel > MAX_PARALLEL) {
            throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.INVALID_ARGUMENT, "parallel is the number"
                    + " of connections for RAM, 1 to " + MAX_PARALLEL + ", got " + parallel, java.util.Map.of("parallel", parallel));
        }
        if (postcopyEnabled()) {
            // QEMU 7.2 takes both capabilities but its multifd cannot answer post-copy's page requests (their
            // support came with QEMU 9); refused rather than left to fail at the switch
            throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.INVALID_ARGUMENT, "parallel (multifd) with"
                    + " post-copy is not supported: QEMU's multifd channels carry pre-copy only", java.util.Map.of("parallel", parallel));
        }
    }
}
