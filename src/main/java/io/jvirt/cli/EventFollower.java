package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Follows jvirtd's event stream on a second connection, on a virtual thread, beside the requests a command makes
 * on its main one. {@link #open} returns once the daemon has subscribed us, so a command that opens it before its
 * request misses no event the request causes.
 */
final class EventFollower implements AutoCloseable {
    /** Receives one event; false stops following. */
    @FunctionalInterface
    interface Handler {
        boolean onEvent(String type, JsonNode event) throws IOException;
    }

    private final ApiClient client;
    private volatile boolean stop;
    private volatile boolean failed;

    private EventFollower(ApiClient client) {
        this.client = client;
    }

    /**
     * @param query     filters of GET /v1/events (e.g. {@code vm})
     * @param onFailure told when the stream breaks after it opened (a break before opening throws instead)
     */
    static EventFollower open(Session session, Map<String, ?> query, Handler handler, Consumer<Exception> onFailure)
            throws IOException, CliException {
        EventFollower f = new EventFollower(session.extraClient());
        CountDownLatch opened = new CountDownLatch(1);
        Thread.ofVirtual().name("jvirt-events").start(() -> {
            try {
                f.client.events("/v1/events", query, opened::countDown,
                        (type, data) -> !f.stop && handler.onEvent(type, Json.parse(data)) && !f.stop);
            } catch (IOException | ApiException e) {
                f.failed = true;
                if (opened.getCount() == 0) {
                    onFailure.accept(e);
                }
            } finally {
                opened.countDown();
            }
        });
        try {
            if (opened.await(10, TimeUnit.SECONDS) && !f.failed) {
                return f;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        f.close();
        throw new IOException("jvirtd's event stream did not open");
    }

    @Override
    public void close() {
        stop = true;
        client.close();
    }
}
