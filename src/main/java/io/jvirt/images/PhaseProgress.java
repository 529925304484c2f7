package io.jvirt.images;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Turns a build's or fetch's phases into progress maps {@code {"phase", "done", "total", "percent", ...}} for the
 * operation's event stream. A new phase and a finished one (done == total) are always reported; updates within a
 * phase at most once every {@link #MIN_INTERVAL_NANOS}, because every report is an event sent to every client, and a
 * download reads a megabyte per callback.
 */
final class PhaseProgress {
    static final long MIN_INTERVAL_NANOS = 200_000_000L;
    private final Consumer<Map<String, Object>> sink;
    private String phase;
    private long lastReport;

    PhaseProgress(Consumer<Map<String, Object>> sink) {
        this.sink = sink;
    }

    /** Starts (or restarts) {@code phase}; {@code total} < 0 when the amount of work is unknown. */
    synchronized void start(String phase, long total, Map<String, Object> detail) {
        this.phase = phase;
        emit(0, total, detail);
    }

    /** A phase that is done the moment it starts (resolve, cached). */
    synchronized void instant(String phase, Map<String, Object> detail) {
        this.phase = phase;
        emit(-1, -1, detail);
    }

    /** Bytes done in the current phase; throttled ({@link #finish} reports the end). */
    synchronized void update(long done, long total) {
        long now = System.nanoTime();
        if (now - lastReport < MIN_INTERVAL_NANOS) {
            return;
        }
        emit(done, total, Map.of());
    }

    /** The current phase finished: reports done == total. */
    synchronized void finish(long total) {
        emit(total, total, Map.of());
    }

    private void emit(long done, long total, Map<String, Object> detail) {
        lastReport = System.nanoTime();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("phase", phase);
        if (done >= 0) {
            p.put("done", done);
        }
        if (total >= 0) {
            p.put("total", total);
            if (done >= 0) {
                p.put("percent", total == 0 ? 100.0 : Math.min(100.0, Math.round(done * 1000.0 / total) / 10.0));
            }
        }
        p.putAll(detail);
        sink.accept(p);
    }
}
