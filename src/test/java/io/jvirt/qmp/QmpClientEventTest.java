package io.jvirt.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Events from a QEMU started paused ({@code -S}): {@code cont} emits RESUME, {@code stop} emits STOP and
 * {@code system_reset} emits RESET even with {@code -machine none}. QEMU sends each event before the
 * answer to the command that caused it.
 */
class QmpClientEventTest {

    private BareQemu qemu;
    private QmpClient client;

    @BeforeEach
    void start() throws Exception {
        qemu = BareQemu.start("-S");
        client = qemu.connect();
    }

    @AfterEach
    void stop() {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            qemu.close();
        }
    }

    @Test
    void eventsArriveInOrderWithData() throws Exception {
        BlockingQueue<QmpEvent> received = new LinkedBlockingQueue<>();
        client.onEvent(received::add);
        Instant before = Instant.now().minusSeconds(1);

        client.execute("cont");
        client.execute("stop");
        client.execute("cont");
        client.execute("stop");
        client.execute("system_reset");

        List<QmpEvent> events = take(received, 5);
        assertThat(events).extracting(QmpEvent::name).containsExactly("RESUME", "STOP", "RESUME", "STOP", "RESET");
        // RESUME carries no data in QEMU 7.2; the record still offers an empty object.
        assertThat(events.get(0).data().isObject()).isTrue();
        assertThat(events.get(0).data().isEmpty()).isTrue();
        assertThat(events.get(4).data().path("reason").asText()).isEqualTo("host-qmp-system-reset");
        assertThat(events.get(0).timestamp()).isAfter(before).isBefore(Instant.now().plus(1, ChronoUnit.SECONDS));
        for (int i = 1; i < events.size(); i++) {
            assertThat(events.get(i).timestamp()).isAfterOrEqualTo(events.get(i - 1).timestamp());
        }
    }

    @Test
    void namedSubscriptionSeesOnlyThatEvent() throws Exception {
        BlockingQueue<QmpEvent> resumes = new LinkedBlockingQueue<>();
        BlockingQueue<QmpEvent> all = new LinkedBlockingQueue<>();
        client.onEvent("RESUME", resumes::add);
        client.onEvent(all::add);

        client.execute("cont");
        client.execute("stop");
        client.execute("cont");

        take(all, 3); // the catch-all listener was called after the named one for each event
        assertThat(resumes).extracting(QmpEvent::name).containsExactly("RESUME", "RESUME");
    }

    @Test
    void unsubscribedListenerHearsNothingMore() throws Exception {
        BlockingQueue<QmpEvent> first = new LinkedBlockingQueue<>();
        BlockingQueue<QmpEvent> witness = new LinkedBlockingQueue<>();
        AutoCloseable subscription = client.onEvent(first::add);
        client.onEvent(witness::add);

        client.execute("cont");
        take(witness, 1);
        subscription.close();
        client.execute("stop");
        take(witness, 1);

        assertThat(first).extracting(QmpEvent::name).containsExactly("RESUME");
    }

    @Test
    void throwingListenerDoesNotStopDispatch() throws Exception {
        BlockingQueue<QmpEvent> received = new LinkedBlockingQueue<>();
        client.onEvent(event -> {
            throw new IllegalStateException("listener bug (expected by test)");
        });
        client.onEvent(received::add);

        client.execute("cont");
        client.execute("stop");

        assertThat(take(received, 2)).extracting(QmpEvent::name).containsExactly("RESUME", "STOP");
    }

    @Test
    void listenerMayExecuteCommands() throws Exception {
        CompletableFuture<JsonNode> statusSeenByListener = new CompletableFuture<>();
        client.onEvent("STOP", event -> {
            try {
                statusSeenByListener.complete(client.execute("query-status"));
            } catch (RuntimeException e) {
                statusSeenByListener.completeExceptionally(e);
            }
        });

        client.execute("cont");
        client.execute("stop");

        JsonNode status = statusSeenByListener.get(10, TimeUnit.SECONDS);
        assertThat(status.path("status").asText()).isEqualTo("paused");
    }

    @Test
    void quitEmitsShutdownThenClosesTheConnection() throws Exception {
        BlockingQueue<QmpEvent> shutdowns = new LinkedBlockingQueue<>();
        client.onEvent("SHUTDOWN", shutdowns::add);

        // QEMU may answer quit or drop the connection first; either way it must end.
        try {
            client.execute("quit");
        } catch (QmpConnectionClosedException e) {
            // acceptable
        }

        assertThat(take(shutdowns, 1).get(0).data().path("reason").asText()).isEqualTo("host-qmp-quit");
        assertThat(client.closed().get(10, TimeUnit.SECONDS)).isInstanceOf(QmpConnectionClosedException.class);
        assertThat(qemu.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
    }

    private static List<QmpEvent> take(BlockingQueue<QmpEvent> queue, int count) throws InterruptedException {
        List<QmpEvent> events = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            QmpEvent event = queue.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("event #%d of %d (got %s)", i + 1, count, events).isNotNull();
            events.add(event);
        }
        return events;
    }
}
