package io.jvirt.qemu.monitor;

import io.jvirt.qmp.QmpArgs;

/**
 * The memory a guest has (get it from {@link Monitor#memory()}): the balloon's target. The balloon's reads
 * (query-balloon, guest-stats, its polling interval) are in {@link StatsCommands}; DIMMs and virtio-mem devices in
 * {@link DeviceCommands}. The balloon moves when the guest's driver acts: {@link MonitorEvent#BALLOON_CHANGE}.
 */
public final class MemoryCommands {
    private final Monitor monitor;

    MemoryCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    /** Asks the guest's balloon driver to leave it {@code bytes} of memory. */
    public void balloon(long bytes) {
        monitor.call("balloon", QmpArgs.of("value", bytes));
    }
}
