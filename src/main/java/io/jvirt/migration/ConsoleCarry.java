package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.ConsoleHistory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM's console history, carried to the destination so its console continues there (docs/migration.md,
 * "Console history"): at Prepare the history so far (what the destination keeps of it, in chunks the API
 * takes), while the migration has not started and costs the guest nothing; at Finish, in Finish's own body,
 * only what the guest printed since, at most {@link #AT_FINISH} bytes, so the switch-over never waits on a large
 * copy. The destination appends both before its guest runs, so its log is the source's history, then the guest's
 * output there. Best effort: the history never fails a migration, except when the peer is lost.
 */
final class ConsoleCarry {
    private static final Logger log = LoggerFactory.getLogger(ConsoleCarry.class);
    /** Per request: the API's bodies are at most 1 MiB and base64 adds a third. */
    static final int CHUNK = 512 << 10;
    /** At most this much of what the guest printed during the migration goes with Finish. */
    static final int AT_FINISH = 256 << 10;

    private final ConsoleHistory history;
    private final String vm;
    private final String base;
    private int keep;
    /** Where the history sent at Prepare ended; null if none was sent (nothing then goes with Finish either). */
    private ConsoleHistory.Chunk sent;

    ConsoleCarry(ConsoleHistory history, String vm, String base) {
        this.history = history;
        this.vm = vm;
        this.base = base;
    }

    /** At Prepare: the last {@code keep} bytes of the history (what the destination keeps), in chunks. */
    void sendHistory(PeerChannel ch, int keep) {
        this.keep = keep;
        if (keep <= 0) {
            return;
        }
        try {
            Optional<ConsoleHistory.Chunk> tail = history.tail(vm, keep);
            if (tail.isEmpty()) {
                return;
            }
            byte[] b = tail.get().bytes();
            for (int off = 0; off < b.length; off += CHUNK) {
                ch.call("POST", base + "/console", new PeerMessages.ConsoleChunk(
                        Arrays.copyOfRange(b, off, Math.min(b.length, off + CHUNK)), 0), Duration.ofSeconds(30));
            }
            sent = tail.get();
            log.info("VM {}: {} bytes of console history sent to the destination", vm, b.length);
        } catch (JvirtException e) {
            if (e.code() == ErrorCode.PEER_LOST) {
                throw e;
            }
            log.warn("VM {}: console history not carried over: {}", vm, e.getMessage());
        }
    }

    /** Finish's body: what the guest printed since the history went (its vCPUs are stopped by now). */
    PeerMessages.Finish finish() {
        if (sent == null) {
            return new PeerMessages.Finish(null);
        }
        try {
            return history.since(vm, sent, Math.min(keep, AT_FINISH))
                    .map(c -> new PeerMessages.Finish(new PeerMessages.ConsoleChunk(c.bytes(), c.skipped())))
                    .orElse(new PeerMessages.Finish(null));
        } catch (JvirtException e) {
            log.warn("VM {}: console output during the migration not carried over: {}", vm, e.getMessage());
            return new PeerMessages.Finish(null);
        }
    }

    /** Destination: appends a chunk from the source (with a line saying what was left out). Never throws. */
    static void receive(ConsoleHistory history, String vm, PeerMessages.ConsoleChunk c) {
        if (c == null || c.data() == null) {
            return;
        }
        try {
            if (c.skipped() != 0) {
                history.append(vm, ("\r\n[jvirt: " + (c.skipped() < 0 ? "some" : Long.toString(c.skipped()))
                        + " bytes of console output during the migration not carried over]\r\n").getBytes(StandardCharsets.UTF_8));
            }
            history.append(vm, c.data());
        } catch (JvirtException e) {
            log.warn("VM {}: console history from the source not kept: {}", vm, e.getMessage());
        }
    }
}
