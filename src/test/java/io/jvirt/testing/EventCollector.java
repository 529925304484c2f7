package io.jvirt.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Subscribes to GET /v1/events (optionally for one VM) and records what arrives. */
public final class EventCollector implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TestHttp.Stream stream;
    private final List<JsonNode> events = new ArrayList<>();
    private final Thread reader;

    public EventCollector(TestHttp http, String vm) throws IOException {
        stream = http.open("GET", "/v1/events" + (vm == null ? "" : "?vm=" + vm), null, null);
        if (stream.status != 200) {
            throw new AssertionError("events answered " + stream.status);
        }
        BufferedReader r = new BufferedReader(new InputStreamReader(stream.body, StandardCharsets.UTF_8));
        // The stream opens with a comment line; once it arrived, the subscription is registered.
        String first = r.readLine();
        if (first == null || !first.startsWith(":")) {
            throw new AssertionError("unexpected event stream start: " + first);
        }
        reader = Thread.ofVirtual().start(() -> {
            try {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        JsonNode n = JSON.readTree(line.substring(6));
                        synchronized (events) {
                            events.add(n);
                            events.notifyAll();
                        }
                    }
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    public List<JsonNode> all() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    public List<String> lifecycleStates() {
        return all().stream().filter(e -> "lifecycle".equals(e.path("type").asText())).map(e -> e.path("state").asText()).toList();
    }

    public List<JsonNode> operations() {
        return all().stream().filter(e -> "operation".equals(e.path("type").asText())).map(e -> e.path("operation")).toList();
    }

    /** Waits for a lifecycle event with the given state; returns all lifecycle states seen so far. */
    public List<String> awaitLifecycle(String state, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            while (!lifecycleStates().contains(state)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no '" + state + "' event within " + timeout + "; got " + lifecycleStates());
                }
                try {
                    events.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
            return lifecycleStates();
        }
    }

    /** Waits for an event matching {@code test} and returns it. */
    public JsonNode await(java.util.function.Predicate<JsonNode> test, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            while (true) {
                for (JsonNode e : events) {
                    if (test.test(e)) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no matching event within " + timeout + "; got " + events);
                }
                try {
                    events.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        stream.close();
        reader.interrupt();
    }
}
