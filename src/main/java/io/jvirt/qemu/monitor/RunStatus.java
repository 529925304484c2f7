package io.jvirt.qemu.monitor;

/** Reply of {@code query-status}: whether the vCPUs run, and QEMU's run state. */
public record RunStatus(boolean running, RunState status) {
}
