package io.jvirt.migration;

import io.jvirt.vm.VmDefinition;
import java.util.List;
import java.util.Map;

/** What the source and destination daemons send each other on the peer channel (JSON bodies). */
public final class PeerMessages {
    private PeerMessages() {
    }

    /** A disk the destination creates and exports for {@code --copy-storage-all}. */
    public record CopiedDisk(String name, String format, long virtualSize, String backing, String backingFormat,
                             Long backingSize) {
    }

    /**
     * Prepare: the destination defines the VM and starts its QEMU waiting for the migration; {@code parallel}:
     * multifd with that many channels (null: one stream).
     */
    public record Prepare(String id, String source, VmDefinition definition, List<CopiedDisk> copied,
                          long peerTimeoutMs, boolean postcopy, Integer parallel) {
    }

    /**
     * The destination is ready: migrate to {@code uri}; with storage, mirror disk {@code exports.key} into the NBD
     * export {@code exports.value} at {@code nbdHost:nbdPort}; {@code tlsHostname} is the name its certificate has;
     * {@code consoleBytes}: how much console history it keeps of the VM (the source sends no more).
     */
    public record Prepared(String uri, String host, int port, String nbdHost, int nbdPort, Map<String, String> exports,
                           VmDefinition definition, int consoleBytes) {
    }

    /**
     * Console history of the VM from the source, appended to the destination's console log before the guest runs
     * there; {@code skipped}: bytes the source left out before {@code data} (-1: an unknown number).
     */
    public record ConsoleChunk(byte[] data, long skipped) {
    }

    /** Finish: the guest may run here; {@code console}: what it printed on the source since Prepare's history. */
    public record Finish(ConsoleChunk console) {
    }

    /** A side's phase of one migration (the answer to a heartbeat, a query, a finish). */
    public record Phase(String id, String vm, String phase, String message) {
    }

    /** The destination of a paused post-copy listens again ({@code migrate-recover}): resume to {@code uri}. */
    public record Recovering(String uri) {
        /** No uri: the destination's post-copy completed (every page arrived before the link broke). */
        boolean completed() {
            return uri == null;
        }
    }

    public record Abort(String reason) {
    }
}
