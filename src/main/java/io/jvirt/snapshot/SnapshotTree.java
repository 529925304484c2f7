package io.jvirt.snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** All snapshots of a VM with their parent links, and which one the VM's current state derives from. */
public record SnapshotTree(String current, List<Snapshot> snapshots) {
    public static SnapshotTree empty() {
        return new SnapshotTree(null, List.of());
    }

    public Optional<Snapshot> find(String name) {
        return snapshots.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public List<Snapshot> children(String name) {
        return snapshots.stream().filter(s -> name.equals(s.parent())).toList();
    }

    public SnapshotTree with(Snapshot s) {
        List<Snapshot> all = new ArrayList<>(snapshots);
        all.removeIf(x -> x.name().equals(s.name()));
        all.add(s);
        return new SnapshotTree(s.name(), List.copyOf(all));
    }

    /** Removes a snapshot; its children hang from its parent, and "current" moves to the parent if it was this one. */
    public SnapshotTree without(String name) {
        Snapshot gone = find(name).orElseThrow();
        List<Snapshot> all = new ArrayList<>();
        for (Snapshot s : snapshots) {
            if (s.name().equals(name)) {
                continue;
            }
            all.add(name.equals(s.parent()) ? s.withParent(gone.parent()) : s);
        }
        return new SnapshotTree(name.equals(current) ? gone.parent() : current, List.copyOf(all));
    }

    /**
     * After an external delete merged the image {@code from} into {@code to}: snapshots whose frozen image of that
     * disk was {@code from} now have {@code to} (it reads the same).
     */
    public SnapshotTree withImageMoved(String disk, String from, String to, String format) {
        List<Snapshot> all = new ArrayList<>();
        for (Snapshot s : snapshots) {
            List<Snapshot.DiskSnapshot> disks = s.disks().stream()
                    .map(d -> d.disk().equals(disk) && d.image().equals(from)
                            ? new Snapshot.DiskSnapshot(d.disk(), to, format, d.overlay()) : d)
                    .toList();
            all.add(s.withDisks(disks));
        }
        return new SnapshotTree(current, List.copyOf(all));
    }

    public SnapshotTree withCurrent(String name) {
        return new SnapshotTree(name, snapshots);
    }
}
