package io.jvirt.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Commands sent and not yet answered, keyed by the id we put in each request so answers can be matched
 * whatever order they arrive in and whichever thread sent them.
 */
final class PendingCommands {

    record Pending(long id, String command, CompletableFuture<JsonNode> future) {
    }

    private final AtomicLong lastId = new AtomicLong();
    private final Map<Long, Pending> byId = new ConcurrentHashMap<>();

    /**
     * Allocates an id and registers a command under it. However its future completes — answer, timeout,
     * connection loss, or cancellation by the caller — the entry is removed, so a late answer finds nothing.
     */
    Pending register(String command) {
        long id = lastId.incrementAndGet();
        Pending pending = new Pending(id, command, new CompletableFuture<>());
        byId.put(id, pending);
        pending.future().whenComplete((result, failure) -> byId.remove(id, pending));
        return pending;
    }

    /** Removes and returns the command waiting for this id, or {@code null} if none is (any more). */
    Pending take(long id) {
        return byId.remove(id);
    }

    /** Removes every pending command, for failing them all when the connection ends. */
    List<Pending> takeAll() {
        List<Pending> all = new ArrayList<>(byId.values());
        all.forEach(p -> byId.remove(p.id(), p));
        return all;
    }
}
