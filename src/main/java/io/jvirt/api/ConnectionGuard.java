package io.jvirt.api;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the API's open connections and closes those that do not deliver a request in time.
 *
 * <p>A connection is <em>waiting</em> from its opening, and again from the end of each response, until the headers
 * of its next request are complete (that is when a handler runs). A connection waiting longer than
 * {@link ClientLimits#headerTimeout()} is closed: a client that trickles its headers a byte at a time (slowloris)
 * never holds a connection beyond that, and neither does an idle keep-alive one. While a request is handled
 * (streams included) no deadline applies.
 *
 * <p>Connections beyond {@link ClientLimits#maxConnections()} are marked when they open; their first request is
 * answered {@code 503 limit-reached} and the connection closed. Far beyond it (a flood), they are closed at once,
 * so the file descriptors stay bounded.
 */
final class ConnectionGuard implements Connection.Listener {
    private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);
    /** How many connections over the limit still get their 503 answer instead of being closed unanswered. */
    static final int ANSWERED_OVERFLOW = 64;

    private final ClientLimits limits;
    private final Scheduler scheduler;
    private final Map<Connection, State> open = new ConcurrentHashMap<>();
    private final AtomicInteger count = new AtomicInteger();

    private static final class State {
        final boolean overLimit;
        int active; // requests being handled; guarded by the State's monitor (no I/O under it)
        long generation;
        Scheduler.Task deadline;

        State(boolean overLimit) {
            this.overLimit = overLimit;
        }
    }

    ConnectionGuard(ClientLimits limits, Scheduler scheduler) {
        this.limits = limits;
        this.scheduler = scheduler;
    }

    @Override
    public void onOpened(Connection c) {
        if (c instanceof org.eclipse.jetty.io.ssl.SslConnection) {
            // On the TLS listener Jetty opens two connections per socket: this one and the HTTP connection on top,
            // which the requests report to us. Tracked too, this one's header deadline was never cleared and
            // closed every TLS connection 10 s after it opened, however busy (found by a migration's peer channel).
            return;
        }
        int n = count.incrementAndGet();
        int max = limits.maxConnections();
        if (n > max + ANSWERED_OVERFLOW) {
            log.warn("connection refused unanswered: {} open, max-connections is {}", n - 1, max);
            open.put(c, new State(true));
            c.close();
            return;
        }
        State s = new State(n > max);
        open.put(c, s);
        arm(c, s);
    }

    @Override
    public void onClosed(Connection c) {
        if (open.remove(c) != null) {
            count.decrementAndGet();
        }
    }

    /** Open connections now. */
    int connections() {
        return count.get();
    }

    /** Whether this connection opened beyond max-connections (its request gets 503). */
    boolean overLimit(Connection c) {
        State s = open.get(c);
        return s != null && s.overLimit;
    }

    /** A request's headers are complete and a handler runs: no deadline until it ends. */
    void requestStarted(Connection c) {
        State s = open.get(c);
        if (s != null) {
            Scheduler.Task pending;
            synchronized (s) {
                s.active++;
                s.generation++;
                pending = s.deadline;
                s.deadline = null;
            }
            if (pending != null) {
                pending.cancel(); // not needed any more: do not keep one timer per finished request
            }
        }
    }

    /** The response is complete: the next request's headers must come within the header timeout. */
    void requestEnded(Connection c) {
        State s = open.get(c);
        if (s == null) {
            return;
        }
        synchronized (s) {
            s.active--;
            if (s.active > 0) {
                return;
            }
        }
        arm(c, s);
    }

    private void arm(Connection c, State s) {
        long generation;
        synchronized (s) {
            generation = s.generation;
        }
        long ms = limits.headerTimeout().toMillis();
        Scheduler.Task task = scheduler.schedule(() -> expire(c, s, generation, ms), ms, TimeUnit.MILLISECONDS);
        boolean stale;
        synchronized (s) {
            stale = s.generation != generation || s.active > 0;
            if (!stale) {
                s.deadline = task;
            }
        }
        if (stale) {
            task.cancel(); // a request started meanwhile
        }
    }

    private void expire(Connection c, State s, long generation, long ms) {
        synchronized (s) {
            if (s.active > 0 || s.generation != generation || open.get(c) != s) {
                return; // a request came meanwhile, or the connection is gone
            }
        }
        log.debug("closing connection {}: no complete request headers within {} ms", c, ms);
        c.close();
    }
}
