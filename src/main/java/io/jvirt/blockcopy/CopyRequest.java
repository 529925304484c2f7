package io.jvirt.blockcopy;

/**
 * What a client asks for (POST /v1/vms/{vm}/disks/{disk}/copy); unknown fields are rejected by the API. Boxed
 * fields are optional.
 *
 * @param dest              absolute path of the destination image
 * @param shallow           copy only the top image; the destination gets the source's backing file as its own
 * @param reuseExternal     the destination exists already (same guest-visible content below the top for shallow)
 * @param format            qcow2 or raw (default: the source's format)
 * @param bandwidthMiB      copy rate limit in MiB/s (0 or absent: unlimited)
 * @param granularity       dirty bitmap granularity in bytes (power of 2, 512 B to 64 MiB)
 * @param bufSize           copy buffer size in bytes
 * @param synchronousWrites write-blocking mode: guest writes reach both images before they are acknowledged
 * @param pivot             switch the guest to the destination once ready, then end
 * @param finish            once ready, end the copy leaving the destination as a point-in-time copy
 * @param timeoutSeconds    with pivot or finish: give up (and abort the copy) if not ready by then
 */
public record CopyRequest(String dest, Boolean shallow, Boolean reuseExternal, String format, Long bandwidthMiB,
                          Long granularity, Long bufSize, Boolean synchronousWrites, Boolean pivot, Boolean finish,
                          Long timeoutSeconds) {

    boolean isShallow() {
        return Boolean.TRUE.equals(shallow);
    }

    boolean isReuse() {
        return Boolean.TRUE.equals(reuseExternal);
    }

    boolean wantsPivot() {
        return Boolean.TRUE.equals(pivot);
    }

    boolean wantsFinish() {
        return Boolean.TRUE.equals(finish);
    }
}
