package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Follows one operation's {@code operation} events on a second connection and draws its progress on stderr, one
 * line per phase:
 *
 * <pre>
 * [##################............] 60.0 % 19.2 MiB of 32.0 MiB  convert
 * </pre>
 *
 * The stream is opened before the operation is requested (so no event is missed) and events of operations not yet
 * known are held until {@link #follow} names ours, then replayed. Progress is decoration: if the stream cannot be
 * opened the command runs without it.
 */
final class OperationProgress implements AutoCloseable {
    private final Session session;
    private EventFollower events;
    private final Map<String, List<JsonNode>> early = new HashMap<>();
    private final CompletableFuture<JsonNode> ended = new CompletableFuture<>();
    private String id;
    private String phase;
    private int lastLength;
    private boolean drawn;
    private volatile boolean stop;

    private OperationProgress(Session session) {
        this.session = session;
    }

    /**
     * Starts an operation and waits for it (see {@link Operations#run}), drawing its phases (download, verify,
     * decompress, convert, resize, customize) on stderr unless in {@code -o json} mode, with {@code --no-progress}
     * or {@code --no-wait}.
     */
    static JsonNode run(Session session, Options.Progress progress, String path, Map<String, Object> query,
                        JsonNode body, Options.Wait wait, String what) throws Exception {
        OperationProgress watch = progress.off || wait.noWait ? null : open(session);
        if (watch == null) return Operations.run(session.client(), "POST", path, query, body, wait, what);
        try (watch) {
            Integer timeout = wait.timeout();
            JsonNode op = session.client().post(path, query, body);
            watch.follow(op.path("id").asText());
            JsonNode done = Operations.await(session.client(), op, timeout, what);
            watch.awaitEnd();
            return done;
        }
    }

    /** A watcher, or null in {@code -o json} mode or when the event stream does not open. */
    private static OperationProgress open(Session session) {
        if (session.json()) return null;
        OperationProgress w = new OperationProgress(session);
        try {
            w.events = EventFollower.open(session, Map.of(), (type, e) -> {
                if ("operation".equals(type)) w.onEvent(e.path("operation"));
                return true;
            }, e -> w.ended.complete(null));
        } catch (IOException | CliException | RuntimeException e) {
            return null; // progress is decoration: the command runs without it
        }
        return w;
    }

    /** From now on, draws the operation {@code opId} (and what it already reported). */
    private synchronized void follow(String opId) {
        id = opId;
        List<JsonNode> seen = early.getOrDefault(opId, List.of());
        early.clear();
        seen.forEach(this::handle);
    }

    private synchronized void onEvent(JsonNode op) {
        String opId = op.path("id").asText();
        if (id == null) {
            // an operation can be phases ahead before its id comes back to us; keep them all to replay
            List<JsonNode> list = early.computeIfAbsent(opId, k -> new ArrayList<>());
            if (list.size() < 10_000) list.add(op);
        } else if (id.equals(opId)) {
            handle(op);
        }
    }

    private void handle(JsonNode op) {
        JsonNode p = op.path("progress");
        if (p.isObject() && p.hasNonNull("phase")) draw(p);
        if (!"running".equals(op.path("status").asText())) ended.complete(op);
    }

    /**
     * Waits (briefly) for the event that says our operation ended: the progress events before it have been drawn
     * once it arrives, even if the operation's answer came back on the other connection first.
     */
    private void awaitEnd() {
        try {
            ended.get(3, TimeUnit.SECONDS);
        } catch (Exception e) {
            // drawn what arrived; the answer is what counts
        }
    }

    private void draw(JsonNode p) {
        if (stop) return;
        String next = p.path("phase").asText();
        if (drawn && !next.equals(phase)) {
            session.err.println(); // the finished phase keeps its line
            lastLength = 0;
        }
        phase = next;
        String line;
        if (p.has("done") && p.has("total")) {
            double percent = p.path("percent").asDouble();
            line = String.format(Locale.ROOT, "%s %5.1f %% %s of %s  %s", ProgressBar.bar(percent), percent,
                    Bytes.format(p.path("done").asLong(), 1), Bytes.format(p.path("total").asLong(), 1), next);
        } else {
            line = next + (p.has("source") ? " " + p.path("source").asText() : "");
        }
        // pad over the rest of a longer previous line of the same phase
        String pad = " ".repeat(Math.max(0, lastLength - line.length()));
        session.err.print("\r" + line + pad);
        session.err.flush();
        lastLength = line.length();
        drawn = true;
    }

    /** Ends the progress line and the event stream. */
    @Override
    public void close() {
        synchronized (this) {
            stop = true;
            if (drawn) {
                session.err.println();
                session.err.flush();
                drawn = false;
            }
        }
        if (events != null) events.close();
    }
}
