package io.jvirt.snapshot;

import io.jvirt.error.Fault;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.VmJobContext;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A VM's snapshot documents: the tree (what exists) and the intent of the job under way (what is being done). */
final class SnapshotRecords {
    static final String TREE = "snapshots";
    static final String INTENT = "snapshot-intent";
    private static final Logger log = LoggerFactory.getLogger(SnapshotRecords.class);
    private final DocumentStore store;

    SnapshotRecords(DocumentStore store) {
        this.store = store;
    }

    SnapshotTree tree(String vm) {
        return store.get(vm, TREE, SnapshotTree.class).orElse(SnapshotTree.empty());
    }

    void putTree(String vm, SnapshotTree tree) {
        store.put(vm, TREE, tree);
    }

    /** The snapshot is in the tree (as current) and the job's intent is done. */
    void recordCreated(String vm, Snapshot snap) {
        putTree(vm, tree(vm).with(snap));
        store.remove(vm, INTENT);
    }

    /** Durably: the step first, then what the job is about to do; only then may it act. */
    void intend(VmJobContext ctx, SnapshotIntent intent) {
        ctx.recordStep(intent.op().at(SnapshotOp.Step.INTENT));
        store.put(ctx.vmName(), INTENT, intent);
        Fault.point("snapshot", "after-intent");
    }

    Optional<SnapshotIntent> intent(String vm) {
        return store.get(vm, INTENT, SnapshotIntent.class);
    }

    void done(String vm) {
        store.remove(vm, INTENT);
    }

    /** As {@link #done}, for a path already failing: the store may refuse too, and that must not hide the cause. */
    void forgetIntent(String vm) {
        try {
            store.remove(vm, INTENT);
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot remove the snapshot intent: {}", vm, e.toString());
        }
    }
}
