package io.jvirt.snapshot;

import io.jvirt.vm.JobKind;

/** The VM jobs of snapshots, {@code snapshot-create} etc. (also their operations' kinds and recoveries' keys). */
public enum SnapshotJob implements JobKind {
    CREATE, REVERT, DELETE,
    /** What QEMU runs each disk on now: a read that takes the slot for a moment. */
    QUERY;

    @Override
    public String wire() {
        return JobKind.wireName("snapshot-", this);
    }

    @Override
    public boolean readsOnly() {
        return this == QUERY;
    }
}
