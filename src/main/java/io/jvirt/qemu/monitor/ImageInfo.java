package io.jvirt.qemu.monitor;

import java.util.List;

/**
 * An image as QEMU has it open (QAPI {@code ImageInfo}, in query-block's {@code inserted.image}): its file and
 * format, size, internal snapshots, and the image below it ({@code backingImage}, null at the bottom).
 */
public record ImageInfo(String filename, String format, long virtualSize, String backingFilename,
                        String fullBackingFilename, String backingFilenameFormat, List<Snapshot> snapshots,
                        ImageInfo backingImage) {

    public ImageInfo {
        snapshots = snapshots == null ? List.of() : List.copyOf(snapshots);
    }

    /** One internal snapshot inside the image; {@code vmStateSize} is non-zero when it holds the guest's memory. */
    public record Snapshot(String name, long vmStateSize) {
    }

    public List<String> snapshotNames() {
        return snapshots.stream().map(Snapshot::name).toList();
    }
}
