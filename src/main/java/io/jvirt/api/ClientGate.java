package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission in front of the routes: the connection limit, and long-lived requests kept off the workers.
 *
 * <p>Jetty runs handlers as tasks of its thread pool, which allows a bounded number at once (200). A request that
 * stays open (an event stream, a console follow, a {@code wait}) would hold one of those tasks for as long as it
 * lasts, so enough of them starve every short request. Here such a request takes a permit of its own budget
 * ({@code max-streams} or {@code max-waits}, 503 when none is left) and runs on a virtual thread of its own, outside
 * the pool; the pool's task returns at once. Short requests therefore only ever compete with short requests.
 */
final class ClientGate extends Handler.Wrapper {
    private static final Logger log = LoggerFactory.getLogger(ClientGate.class);

    /** What a request is, as far as admission goes. */
    enum Kind { SHORT, STREAM, WAIT }

    private final ClientLimits limits;
    private final ConnectionGuard guard;
    private final ObjectMapper mapper;
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicInteger waits = new AtomicInteger();
    private final AtomicInteger queued = new AtomicInteger();
    private final ClientTracker clients;

    ClientGate(ClientLimits limits, ConnectionGuard guard, ObjectMapper mapper, Handler routes) {
        this(limits, guard, mapper, routes, null);
    }

    /** {@code clients}: the admin API's view of the connections (per-identity limit, streams per client), or null. */
    ClientGate(ClientLimits limits, ConnectionGuard guard, ObjectMapper mapper, Handler routes, ClientTracker clients) {
        super(routes);
        this.limits = limits;
        this.guard = guard;
        this.mapper = mapper;
        this.clients = clients;
    }

    int openStreams() {
        return streams.get();
    }

    int openWaits() {
        return waits.get();
    }

    int queuedJobs() {
        return queued.get();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Connection connection = request.getConnectionMetaData().getConnection();
        guard.requestStarted(connection);
        Callback done = Callback.from(callback, () -> guard.requestEnded(connection));
        if (guard.overLimit(connection)) {
            response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            refuse(request, response, done, "max-connections", limits.maxConnections(), "open connections");
            return true;
        }
        if (clients != null) {
            clients.identify(connection, request);
        }
        if (clients != null && clients.overIdentityLimit(connection)) {
            response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            refuse(request, response, done, "max-clients-per-identity", limits.maxClientsPerIdentity(),
                    "open connections of one user or certificate");
            return true;
        }
        Kind kind = classify(request);
        if (kind == Kind.SHORT) {
            return super.handle(request, response, done);
        }
        AtomicInteger counter = kind == Kind.STREAM ? streams : waits;
        IntSupplier max = kind == Kind.STREAM ? limits::maxStreams : limits::maxWaits;
        if (!acquire(counter, max.getAsInt())) {
            refuse(request, response, done, kind == Kind.STREAM ? "max-streams" : "max-waits", max.getAsInt(),
                    kind == Kind.STREAM ? "open event streams and console follows" : "waiting requests");
            return true;
        }
        boolean queues = kind == Kind.WAIT && queuesForSlot(request);
        if (queues && !acquire(queued, limits.maxQueuedJobs())) {
            counter.decrementAndGet();
            refuse(request, response, done, "max-queued-jobs", limits.maxQueuedJobs(), "requests queued for busy VMs");
            return true;
        }
        io.jvirt.admin.ClientRegistry.Client client = clients == null || kind != Kind.STREAM ? null : clients.client(connection);
        if (client != null) {
            client.streamOpened();
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                counter.decrementAndGet();
                if (queues) {
                    queued.decrementAndGet();
                }
                if (client != null) {
                    client.streamClosed();
                }
            }
        };
        Callback detached = Callback.from(done, release);
        Thread.ofVirtual().name("jvirtd-" + kind.name().toLowerCase(java.util.Locale.ROOT)).start(() -> {
            try {
                if (!super.handle(request, response, detached)) {
                    Response.writeError(request, response, detached, 404);
                }
            } catch (Throwable t) {
                log.error("{} {} failed", request.getMethod(), request.getHttpURI().getPath(), t);
                detached.failed(t);
            }
        });
        return true;
    }

    private static boolean acquire(AtomicInteger counter, int max) {
        while (true) {
            int n = counter.get();
            if (n >= max) {
                return false;
            }
            if (counter.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    private void refuse(Request request, Response response, Callback callback, String limit, int value, String what) {
        JvirtException e = new JvirtException(ErrorCode.LIMIT_REACHED, "limit " + limit + " reached: " + value + " "
                + what + " is the most this daemon serves at once; try again later", Map.of("limit", limit, "value", value));
        log.warn("{} {} refused: {} ({}) reached", request.getMethod(), request.getHttpURI().getPath(), limit, value);
        try {
            new Exchange(request, response, callback, mapper, Map.of()).error(e);
        } catch (Exception io) {
            callback.failed(io);
        }
    }

    /**
     * Long-lived requests by their shape: the event stream, a console follow, and the waits (an operation's wait
     * endpoint, {@code ?wait=true}, {@code ?queue=S} with S above 0). A malformed query is short: the route refuses it.
     */
    static Kind classify(Request request) {
        String path = request.getHttpURI().getPath();
        if (path == null) {
            return Kind.SHORT;
        }
        if (path.equals("/v1/events")) {
            return Kind.STREAM;
        }
        Fields query;
        try {
            query = Request.extractQueryParameters(request);
        } catch (RuntimeException e) {
            return Kind.SHORT;
        }
        if (path.endsWith("/console") && "GET".equals(request.getMethod()) && isTrue(query.getValue("follow"))) {
            return Kind.STREAM;
        }
        if ((path.startsWith("/v1/operations/") && path.endsWith("/wait")) || isTrue(query.getValue("wait"))) {
            return Kind.WAIT;
        }
        String queue = query.getValue("queue");
        if (queue != null) {
            try {
                return Double.parseDouble(queue) > 0 ? Kind.WAIT : Kind.SHORT;
            } catch (NumberFormatException e) {
                return Kind.SHORT;
            }
        }
        return Kind.SHORT;
    }

    /** Whether the request waits for a busy VM's slot ({@code ?queue=S}, S above 0). */
    private static boolean queuesForSlot(Request request) {
        try {
            String q = Request.extractQueryParameters(request).getValue("queue");
            return q != null && Double.parseDouble(q) > 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean isTrue(String v) {
        return v != null && (v.isEmpty() || v.equals("1") || v.equals("true") || v.equals("yes"));
    }
}
