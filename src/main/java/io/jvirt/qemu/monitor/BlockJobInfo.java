package io.jvirt.qemu.monitor;

/** One block job of {@code query-block-jobs}: byte counters of its work ({@code offset} of {@code len}). */
public record BlockJobInfo(String device, String type, long len, long offset, long speed, boolean ready, String status) {
}
