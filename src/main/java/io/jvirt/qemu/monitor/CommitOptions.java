package io.jvirt.qemu.monitor;

/**
 * Arguments of {@code block-commit}: job {@code jobId} commits the chain of device node {@code device} down into
 * {@code baseNode}. {@code topNode} null commits the active top (an active commit: ready, then job-complete
 * pivots); otherwise {@code backingFile} is written into the header of the image above {@code topNode}.
 */
public record CommitOptions(String jobId, String device, String baseNode, String topNode, String backingFile) {
}
