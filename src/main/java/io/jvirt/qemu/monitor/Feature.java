package io.jvirt.qemu.monitor;

import java.util.function.Predicate;

/**
 * Things a capability may need from QEMU, asked as "does this QEMU have X" ({@link Monitor#has}) instead of
 * assuming a version. A new need is one constant here: a command, a command's argument, an event or a migration
 * capability.
 */
public enum Feature {
    /** Internal snapshots with the guest's memory as a background job (QEMU 6.0). */
    SNAPSHOT_SAVE("the snapshot-save command", command("snapshot-save")),
    SNAPSHOT_LOAD("the snapshot-load command", command("snapshot-load")),
    /** Mirror writes reaching both images before they complete (QEMU 3.0). */
    MIRROR_WRITE_BLOCKING("blockdev-mirror's copy-mode argument", argument("blockdev-mirror", "copy-mode")),
    /** A background job's status as events (QEMU 2.12). */
    JOB_EVENTS("the JOB_STATUS_CHANGE event", event("JOB_STATUS_CHANGE")),
    /** A migration's status as events. */
    MIGRATION_EVENTS("the migration capability 'events'", migrationCapability(MigrationCapability.EVENTS.wire())),
    /** Stopping a migration before its switch-over, so storage mirrors end before device state is sent (QEMU 2.11). */
    PAUSE_BEFORE_SWITCHOVER("the migration capability 'pause-before-switchover'",
            migrationCapability(MigrationCapability.PAUSE_BEFORE_SWITCHOVER.wire())),
    /** Writable NBD exports of block nodes (QEMU 5.2). */
    BLOCK_EXPORT("the block-export-add command", command("block-export-add")),
    /** Post-copy migration. */
    POSTCOPY("the migration capability 'postcopy-ram'", migrationCapability(MigrationCapability.POSTCOPY_RAM.wire())),
    /** RAM over parallel connections (multifd; TLS on each since QEMU 5.0). */
    MULTIFD("the migration capability 'multifd'", migrationCapability(MigrationCapability.MULTIFD.wire()));

    private final String description;
    private final Predicate<QemuCapabilities> test;

    Feature(String description, Predicate<QemuCapabilities> test) {
        this.description = description;
        this.test = test;
    }

    /** What it is, for an error message: "QEMU 7.2.0 has no <description>". */
    public String description() {
        return description;
    }

    boolean test(QemuCapabilities c) {
        return test.test(c);
    }

    private static Predicate<QemuCapabilities> command(String name) {
        return c -> c.hasCommand(name);
    }

    private static Predicate<QemuCapabilities> argument(String command, String argument) {
        return c -> c.hasArgument(command, argument);
    }

    private static Predicate<QemuCapabilities> event(String name) {
        return c -> c.hasEvent(name);
    }

    private static Predicate<QemuCapabilities> migrationCapability(String name) {
        return c -> c.hasMigrationCapability(name);
    }
}
