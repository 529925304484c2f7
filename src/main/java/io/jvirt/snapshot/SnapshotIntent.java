package io.jvirt.snapshot;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a snapshot job is about to do, stored durably before it acts, so a restarted daemon can find out (by asking
 * QEMU or qemu-img) how far it got. {@code op} is null only for an op a newer daemon wrote.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SnapshotIntent(SnapshotOp op, Snapshot snapshot, boolean wasRunning, List<DiskChange> changes) {

    /** A disk whose top image changes: from {@code oldPath} to {@code newPath}; node names used while adding it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DiskChange(String disk, String oldPath, String oldFormat, String newPath, String fileNode, String formatNode) {
    }
}
