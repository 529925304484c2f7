package io.jvirt.snapshot;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * What a snapshot job does, as its durable intent names it ({@link SnapshotIntent#op()}), and the steps it records
 * on its way ({@code <op>:<step>} in the VM's job record). See docs/snapshots.md for the step x recovery table.
 */
public enum SnapshotOp {
    CREATE_INTERNAL, CREATE_EXTERNAL, CREATE_MEMORY, CREATE_EXTERNAL_MEMORY,
    REVERT_INTERNAL, REVERT_MEMORY, REVERT_EXTERNAL, REVERT_EXTERNAL_MEMORY,
    DELETE_INTERNAL, DELETE_EXTERNAL;

    /** A step a job records before it goes on. */
    public enum Step {
        INTENT, SWITCHED, MERGED, HELD, STOPPED, APPLIED, STARTED;

        /** True if the recorded step {@code intent} (e.g. {@code create-external:held}) is this step. */
        public boolean isIn(String intent) {
            return intent != null && intent.endsWith(":" + name().toLowerCase(Locale.ROOT));
        }
    }

    /** The name in the intent document: the constant's, in lower case with dashes ({@code create-internal}). */
    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The op this wire name names, or null for one this build does not know. */
    @JsonCreator
    public static SnapshotOp fromWire(String s) {
        for (SnapshotOp op : values()) {
            if (op.wire().equals(s)) {
                return op;
            }
        }
        return null;
    }

    /** The step record {@code <op>:<step>}. */
    public String at(Step step) {
        return wire() + ":" + step.name().toLowerCase(Locale.ROOT);
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
