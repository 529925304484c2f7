package io.jvirt.hotplug;

import io.jvirt.qemu.QemuInstance;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.VmDefinition;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The durable {@link LiveRecord} of each VM: read for the QEMU that runs now, written before and after each change. */
final class LiveState {
    static final String DOCUMENT = "hotplug-live";
    private final DocumentStore store;

    LiveState(DocumentStore store) {
        this.store = store;
    }

    /** Which QEMU a record is about: its pid and start time (an adopted QEMU keeps both). */
    static String stamp(QemuInstance q) {
        return q.pid() + "@" + q.startedAt();
    }

    /**
     * The record of the QEMU {@code q}; a record of an earlier QEMU (or none) means nothing was changed live since
     * this one started from {@code started}, the definition it was started from.
     */
    LiveRecord read(String vm, QemuInstance q, VmDefinition started) {
        Optional<LiveRecord> r = store.get(vm, DOCUMENT, LiveRecord.class);
        if (r.isPresent() && stamp(q).equals(r.get().qemu()) && r.get().live() != null) {
            return r.get();
        }
        return new LiveRecord(stamp(q), started, List.of(), Instant.now());
    }

    /** The record as stored, whichever QEMU it is about. */
    Optional<LiveRecord> stored(String vm) {
        return store.get(vm, DOCUMENT, LiveRecord.class);
    }

    void write(String vm, LiveRecord r) {
        store.put(vm, DOCUMENT, r);
    }
}
