package io.jvirt.snapshot;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * What a snapshot job does, as its durable intent names it ({@link SnapshotIntent#op()}), and the steps it records
 * on its way ({@code <op>:<step>} in the VM's job record). See docs/snapshots.md for the step x recovery table.
 */
public enum SnapshotOp {
    CREATE_INTERNAL("create-internal"), CREATE_EXTERNAL("create-external"), CREATE_MEMORY("create-memory"),
    CREATE_EXTERNAL_MEMORY("create-external-memory"),
    REVERT_INTERNAL("revert-internal"), REVERT_MEMORY("revert-memory"), REVERT_EXTERNAL("revert-external"),
    REVERT_EXTERNAL_MEMORY("revert-external-memory"),
    DELETE_INTERNAL("delete-internal"), DELETE_EXTERNAL("delete-external");

    /** A step a job records before it goes on. */
    public enum Step {
        INTENT("intent"), SWITCHED("switched"), MERGED("merged"), HELD("held"), STOPPED("stopped"),
        APPLIED("applied"), STARTED("started");

        private final String wire;

        Step(String wire) {
            this.wire = wire;
        }

        /** True if the recorded step {@code intent} (e.g. {@code create-external:held}) is this step. */
        public boolean isIn(String intent) {
            return intent != null && intent.endsWith(":" + wire);
        }
    }

    private final String wire;

    SnapshotOp(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    /** The op this wire name names, or null for one this build does not know. */
    @JsonCreator
    public static SnapshotOp fromWire(String s) {
        for (SnapshotOp op : values()) {
            if (op.wire.equals(s)) {
                return op;
            }
        }
        return null;
    }

    /** The step record {@code <op>:<step>}. */
    public String at(Step step) {
        return wire + ":" + step.wire;
    }

    static SnapshotOp create(boolean external, boolean memory) {
        return external ? (memory ? CREATE_EXTERNAL_MEMORY : CREATE_EXTERNAL) : (memory ? CREATE_MEMORY : CREATE_INTERNAL);
    }

    static SnapshotOp revert(Snapshot s) {
        return s.external() ? (s.memory() ? REVERT_EXTERNAL_MEMORY : REVERT_EXTERNAL) : (s.memory() ? REVERT_MEMORY : REVERT_INTERNAL);
    }

    static SnapshotOp delete(Snapshot s) {
        return s.external() ? DELETE_EXTERNAL : DELETE_INTERNAL;
    }
}
