package io.jvirt.qemu.monitor;

/**
 * Arguments of {@code blockdev-mirror}: job {@code jobId} copies the node {@code device} to the node {@code target}.
 * The job is never dismissed automatically, so its end (and error) can be read after its event.
 *
 * @param topOnly       copy only the top image ({@code sync=top}); otherwise the whole chain ({@code sync=full})
 * @param speed         bytes per second, null for unlimited
 * @param granularity   dirty bitmap granularity in bytes, null for QEMU's default
 * @param bufSize       copy buffer in bytes, null for QEMU's default
 * @param writeBlocking guest writes reach both images before they complete ({@code copy-mode=write-blocking})
 */
public record MirrorOptions(String jobId, String device, String target, boolean topOnly, Long speed, Long granularity,
                            Long bufSize, boolean writeBlocking) {
}
