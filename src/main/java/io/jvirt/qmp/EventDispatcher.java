package io.jvirt.qmp;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events to listeners on one dedicated virtual thread, in arrival order. Having its own thread
 * keeps listeners off the reader thread, so a listener that waits for a command answer cannot block the
 * reading of that answer.
 */
final class EventDispatcher {

    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

    /** Queued after the last event to tell the thread to finish once everything before it is delivered. */
    private static final QmpEvent END = new QmpEvent("<end>", null, Instant.EPOCH);

    private record Subscription(String eventName, QmpEventListener listener) {
        boolean wants(QmpEvent event) {
            return eventName == null || eventName.equals(event.name());
        }
    }

    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
    private final BlockingQueue<QmpEvent> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    /** Completes when the thread ends: every event queued before {@link #shutdown} has been delivered. */
    private final CompletableFuture<Void> delivered = new CompletableFuture<>();

    EventDispatcher(String threadName) {
        this.thread = Thread.ofVirtual().name(threadName).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** Subscribes to one event name, or to all events if {@code eventName} is null. Closing unsubscribes. */
    AutoCloseable subscribe(String eventName, QmpEventListener listener) {
        Subscription subscription = new Subscription(eventName, listener);
        subscriptions.add(subscription);
        return () -> subscriptions.remove(subscription);
    }

    void dispatch(QmpEvent event) {
        queue.add(event);
    }

    /** Lets already queued events be delivered, then ends the thread. */
    void shutdown() {
        queue.add(END);
    }

    /** Completes once the connection ended and every event read before its end went to the listeners. */
    CompletableFuture<Void> delivered() {
        return delivered;
    }

    private void run() {
        try {
            for (QmpEvent event = queue.take(); event != END; event = queue.take()) {
                deliver(event);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            delivered.complete(null);
        }
    }

    private void deliver(QmpEvent event) {
        for (Subscription subscription : subscriptions) {
            if (subscription.wants(event)) {
                try {
                    subscription.listener().onEvent(event);
                } catch (RuntimeException | AssertionError e) {
                    // One broken listener must not starve the others or later events.
                    log.warn("QMP event listener {} failed on {}", subscription.listener(), event.name(), e);
                }
            }
        }
    }
}
