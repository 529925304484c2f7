package io.jvirt.migration;

import io.jvirt.store.DocumentStore;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The durable records of migrations, one per VM and side, kept in the VM's store directory (written with fsync
 * and atomic rename by the store): a restarted daemon reads them to finish or roll back what was under way.
 */
final class MigrationRecords {
    static final String OUT = "migration-out";
    static final String IN = "migration-in";

    /**
     * The source's record. {@code phase}: begin, prepared, mirroring, mirrors-ready, migrating, switchover,
     * completed, finish-sent, confirmed; in post-copy postcopy-requested, postcopy-active, postcopy-running-there,
     * postcopy-paused, postcopy-resuming (see docs/migration.md).
     */
    record Outgoing(String id, String vm, String destination, String phase, boolean copyStorage, List<String> mirrors,
                    boolean keepSource, Instant since) {
        Outgoing at(String p) {
            return new Outgoing(id, vm, destination, p, copyStorage, mirrors, keepSource, since);
        }
    }

    /** The destination's record. {@code phase}: prepare, incoming, finishing, done. */
    record Incoming(String id, String vm, String source, String phase, List<String> createdImages, Instant since) {
        Incoming at(String p) {
            return new Incoming(id, vm, source, p, createdImages, since);
        }
    }

    private final DocumentStore store;

    MigrationRecords(DocumentStore store) {
        this.store = store;
    }

    void put(Outgoing r) {
        store.put(r.vm(), OUT, r);
    }

    void put(Incoming r) {
        store.put(r.vm(), IN, r);
    }

    Optional<Outgoing> outgoing(String vm) {
        return store.get(vm, OUT, Outgoing.class);
    }

    Optional<Incoming> incoming(String vm) {
        return store.get(vm, IN, Incoming.class);
    }

    void removeOutgoing(String vm) {
        store.remove(vm, OUT);
    }

    synchronized void removeIncoming(String vm) {
        store.remove(vm, IN);
    }

    /**
     * Moves the incoming record of migration {@code id} to {@code phase}, unless it is gone (the source confirmed
     * meanwhile: a restarted destination answers the source's questions while its recovery still runs).
     */
    synchronized void advanceIncoming(String vm, String id, String phase) {
        incoming(vm).filter(r -> r.id().equals(id)).ifPresent(r -> store.put(vm, IN, r.at(phase)));
    }

    List<String> withOutgoing() {
        return store.owners(OUT);
    }

    List<String> withIncoming() {
        return store.owners(IN);
    }

    /** The incoming record of migration {@code id}, whichever VM it is for (answers after a restart). */
    Optional<Incoming> incomingById(String id) {
        return withIncoming().stream().map(this::incoming).flatMap(Optional::stream).filter(r -> r.id().equals(id))
                .findFirst();
    }
}
