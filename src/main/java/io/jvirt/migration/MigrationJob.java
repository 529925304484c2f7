package io.jvirt.migration;

import io.jvirt.vm.JobKind;

/** A migration's jobs: the source VM's (which is also the operation's kind) and the destination VM's. */
public enum MigrationJob implements JobKind {
    OUTGOING("migration"),
    INCOMING("migration-in");

    private final String wire;

    MigrationJob(String wire) {
        this.wire = wire;
    }

    @Override
    public String wire() {
        return wire;
    }
}
