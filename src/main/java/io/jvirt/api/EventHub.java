package io.jvirt.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans the daemon's events out to event-stream clients. Publishing never blocks: each client has its own queue,
 * and a client that falls far behind is disconnected rather than slowing the daemon down.
 */
final class EventHub {
    private static final Logger log = LoggerFactory.getLogger(EventHub.class);
    private static final int MAX_BACKLOG = 10_000;

    private final ObjectMapper mapper;
    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();

    EventHub(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** An event as it is delivered: its SSE event name, the VM it concerns (may be null) and its JSON. */
    record Frame(String type, String vm, String json) {
    }

    final class Subscriber implements AutoCloseable {
        private final LinkedBlockingQueue<Frame> queue = new LinkedBlockingQueue<>();
        private final Predicate<Frame> filter;
        private volatile boolean overflowed;

        Subscriber(Predicate<Frame> filter) {
            this.filter = filter;
        }

        /** Next frame, or null after the timeout; throws once the subscriber was cut off for falling behind. */
        Frame next(long timeout, TimeUnit unit) throws InterruptedException {
            if (overflowed) {
                throw new IllegalStateException("event client fell behind by more than " + MAX_BACKLOG + " events");
            }
            return queue.poll(timeout, unit);
        }

        void offer(Frame f) {
            if (!filter.test(f)) {
                return;
            }
            if (queue.size() >= MAX_BACKLOG) {
                overflowed = true;
                subscribers.remove(this);
                return;
            }
            queue.offer(f);
        }

        @Override
        public void close() {
            subscribers.remove(this);
        }
    }

    Subscriber subscribe(Predicate<Frame> filter) {
        Subscriber s = new Subscriber(filter);
        subscribers.add(s);
        return s;
    }

    void publish(String type, String vm, Object event) {
        String json;
        try {
            json = mapper.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            log.error("cannot serialize {} event", type, e);
            return;
        }
        Frame f = new Frame(type, vm, json);
        for (Subscriber s : subscribers) {
            s.offer(f);
        }
    }

    int subscriberCount() {
        return subscribers.size();
    }
}
