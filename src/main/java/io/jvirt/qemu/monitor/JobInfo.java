package io.jvirt.qemu.monitor;

/** One job of {@code query-jobs}; {@code error} is set once a job concluded with a failure. */
public record JobInfo(String id, String type, JobStatus status, long currentProgress, long totalProgress, String error) {
}
