package io.jvirt.snapshot;

import java.util.List;

/** POST /v1/vms/{name}/snapshots. {@code disks} null means every writable disk. */
public record SnapshotRequest(String name, Boolean diskOnly, Boolean memory, Boolean external, List<String> disks,
                              Boolean quiesce) {
    boolean wantsMemory() {
        return Boolean.TRUE.equals(memory);
    }

    boolean wantsExternal() {
        return Boolean.TRUE.equals(external);
    }

    boolean wantsQuiesce() {
        return Boolean.TRUE.equals(quiesce);
    }
}
