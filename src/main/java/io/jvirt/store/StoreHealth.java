package io.jvirt.store;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What went wrong with a store's writes since it was opened: how many failed, and the last one (owner, kind,
 * error, when). A failed write is also thrown to the writer; this is what the daemon reports afterwards
 * ({@code GET /v1/host}, {@code jvirt admin daemon-info}), since a disk that filled up is an operator's problem.
 */
public final class StoreHealth {
    private final AtomicLong failedWrites = new AtomicLong();
    private volatile Map<String, Object> lastFailure;

    void writeFailed(String owner, String kind, Exception e) {
        failedWrites.incrementAndGet();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("owner", owner);
        m.put("kind", kind);
        m.put("error", String.valueOf(e.getMessage()));
        m.put("time", Instant.now().toString());
        lastFailure = m;
    }

    public long failedWrites() {
        return failedWrites.get();
    }

    /** The counts and the last failure, as the API shows them. */
    public Map<String, Object> view() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("failedWrites", failedWrites.get());
        Map<String, Object> last = lastFailure;
        if (last != null) {
            m.put("lastFailure", last);
        }
        return m;
    }
}
