package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
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
 * known are held until {@link #follow} names ours, then replayed. Progress is decoration: if the stream cannot be opened the
 * command runs without it.
 */
final class OperationProgress implements AutoCloseable {
    private final JvirtCli cli;
    private final ApiClient events;
    private final Map<String, List<JsonNode>> early = new HashMap<>();
    private final CompletableFuture<JsonNode> ended = new CompletableFuture<>();
    private String id;
    private String phase;
    private int lastLength;
    private boolean drawn;
    private volatile boolean stop;

    private OperationProgress(JvirtCli cli, ApiClient events) {
        this.cli = cli;
        this.events = events;
    }

    /** A watcher, or null in {@code -o json} mode or when the event stream does not open. */
    static OperationProgress open(JvirtCli cli) {
        if (cli.json()) {
            return null;
        }
        ApiClient client;
        try {
            client = cli.extraClient();
        } catch (RuntimeException e) {
            return null;
        }
        OperationProgress w = new OperationProgress(cli, client);
        CountDownLatch opened = new CountDownLatch(1);
        Thread.ofVirtual().name("operation-progress").start(() -> {
            try {
                client.events("/v1/events", Map.of(), opened::countDown, (type, data) -> {
                    if ("operation".equals(type)) {
                        w.onEvent(Json.parse(data).path("operation"));
                    }
                    return !w.stop;
                });
            } catch (IOException | ApiException e) {
                w.ended.complete(null);
            } finally {
                opened.countDown();
            }
        });
        try {
            if (!opened.await(10, TimeUnit.SECONDS) || w.ended.isDone()) {
                w.close();
                return null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            w.close();
            return null;
        }
        return w;
    }

    /** From now on, draws the operation {@code opId} (and what it already reported). */
    synchronized void follow(String opId) {
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
            if (list.size() < 10_000) {
                list.add(op);
            }
        } else if (id.equals(opId)) {
            handle(op);
        }
    }

    private void handle(JsonNode op) {
        JsonNode p = op.path("progress");
        if (p.isObject() && p.hasNonNull("phase")) {
            draw(p);
        }
        if (!"running".equals(op.path("status").asText())) {
            ended.complete(op);
        }
    }

    /**
     * Waits (briefly) for the event that says our operation ended: the progress events before it have been drawn
     * once it arrives, even if the operation's answer came back on the other connection first.
     */
    void awaitEnd() {
        try {
            ended.get(3, TimeUnit.SECONDS);
        } catch (Exception e) {
            // drawn what arrived; the answer is what counts
        }
    }

    private void draw(JsonNode p) {
        if (stop) {
            return;
        }
        String next = p.path("phase").asText();
        if (drawn && !next.equals(phase)) {
            cli.err.println(); // the finished phase keeps its line
            lastLength = 0;
        }
        phase = next;
        String line;
        if (p.has("done") && p.has("total")) {
            double percent = p.path("percent").asDouble();
            line = String.format("%s %5.1f %% %s of %s  %s", ProgressBar.bar(percent), percent,
                    ProgressBar.human(p.path("done").asLong()),
                    ProgressBar.human(p.path("total").asLong()), next);
        } else {
            line = next + (p.has("source") ? " " + p.path("source").asText() : "");
        }
        // pad over the rest of a longer previous line of the same phase
        String pad = " ".repeat(Math.max(0, lastLength - line.length()));
        cli.err.print("\r" + line + pad);
        cli.err.flush();
        lastLength = line.length();
        drawn = true;
    }

    /** Ends the progress line and the event stream. */
    @Override
    public void close() {
        synchronized (this) {
            stop = true;
            if (drawn) {
                cli.err.println();
                cli.err.flush();
                drawn = false;
            }
        }
        events.close();
    }
}
