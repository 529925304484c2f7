package io.jvirt.snapshot;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/** Public access to the tiny-guest definitions with qcow2 disks, for tests in other packages. */
public final class SnapshotTestDefinitions {
    private SnapshotTestDefinitions() {
    }

    public static ObjectNode withDisks(String name, Path... disks) {
        return SnapshotGuest.definition(name, disks);
    }
}
