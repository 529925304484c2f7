package io.jvirt.snapshot;

import io.jvirt.vm.JobKind;

/** The VM jobs of snapshots (also the kinds of their operations, and the keys of their recoveries). */
public enum SnapshotJob implements JobKind {
    CREATE("snapshot-create"), REVERT("snapshot-revert"), DELETE("snapshot-delete"),
    /** What QEMU runs each disk on now: a read that takes the slot for a moment. */
    QUERY("snapshot-query");

    private final String wire;

    SnapshotJob(String wire) {
        this.wire = wire;
    }

    @Override
    public String wire() {
        return wire;
    }

    @Override
    public boolean readsOnly() {
        return this == QUERY;
    }
}
