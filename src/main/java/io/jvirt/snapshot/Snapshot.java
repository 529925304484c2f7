package io.jvirt.snapshot;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * One snapshot of a VM as jvirt records it. {@code kind} is "internal" (inside each qcow2 image, optionally with
 * the VM's memory) or "external" (the image files named in {@code disks[].image} were frozen and a new overlay
 * became each disk's top). An external snapshot with memory keeps RAM and device state in {@code memoryFile} (a
 * QEMU migration stream).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Snapshot(String name, String parent, Instant createdAt, String kind, boolean memory, String vmState,
                       List<DiskSnapshot> disks, Long pauseMillis, String memoryFile) {
    static final String INTERNAL = "internal";
    static final String EXTERNAL = "external";

    /**
     * internal: {@code image} holds the snapshot inside it. external: {@code image} is the frozen file (read-only
     * from then on), {@code overlay} the file created on top of it.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DiskSnapshot(String disk, String image, String format, String overlay) {
    }

    public boolean external() {
        return EXTERNAL.equals(kind);
    }

    /** The same snapshot without memory (what an external memory snapshot is kept as when its memory is missing). */
    Snapshot diskOnly() {
        return new Snapshot(name, parent, createdAt, kind, false, vmState, disks, null, null);
    }

    /** With the guest's memory, and how long the guest was paused taking it. */
    Snapshot withMemory(Long pause) {
        return new Snapshot(name, parent, createdAt, kind, true, vmState, disks, pause, memoryFile);
    }

    Snapshot withParent(String p) {
        return new Snapshot(name, p, createdAt, kind, memory, vmState, disks, pauseMillis, memoryFile);
    }

    Snapshot withDisks(List<DiskSnapshot> d) {
        return new Snapshot(name, parent, createdAt, kind, memory, vmState, List.copyOf(d), pauseMillis, memoryFile);
    }

    DiskSnapshot disk(String disk) {
        return disks.stream().filter(d -> d.disk().equals(disk)).findFirst().orElseThrow();
    }
}
