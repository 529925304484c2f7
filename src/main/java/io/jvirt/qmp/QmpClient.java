package io.jvirt.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client for the QEMU Machine Protocol (QMP) over a Unix socket.
 *
 * <p>Thread-safe. Every command carries a unique numeric {@code id} and answers are matched by it, so
 * any number of threads may have commands in flight at once. (QEMU itself runs ordinary commands one at a
 * time per monitor, in order; concurrency here saves round trips, not QEMU time.) Writes are serialized
 * under a lock that is never held while waiting for an answer.
 *
 * <p>Threads: one virtual reader thread parses the incoming stream; one virtual dispatcher thread delivers
 * events to listeners in order. Futures returned by {@link #submit} and {@link #closed()} are completed on
 * short-lived virtual threads, never on the reader thread, so dependent stages may block (even call
 * {@link #execute}) without stalling the connection.
 *
 * <p>When the connection ends — QEMU exits or closes it, an I/O error, malformed input, or {@link #close()} —
 * every pending command fails at once with the same {@link QmpConnectionClosedException}, {@link #closed()}
 * completes with it, and later commands fail immediately.
 *
 * <p>An answer without an {@code id} is logged and dropped. QEMU only sends one when it cannot parse a
 * request far enough to find the id; this client always sends well-formed requests, and guessing which
 * pending command it belongs to (the oldest?) would be wrong once a timed-out command's answer is still
 * outstanding. The command concerned then fails by timeout.
 *
 * <p>The {@code oob} capability is enabled when QEMU offers it (it does on a monitor of its own, not on a mux
 * chardev): {@link #executeOutOfBand} then sends {@code exec-oob}, which QEMU runs on its monitor I/O thread even
 * while its main loop is blocked (a post-copy destination faulting on a page that no longer comes, so
 * {@code migrate-pause} must get through). Every command carries an id, so answers out of order are matched. File
 * descriptor
 * passing ({@code getfd}, {@code add-fd}) is not supported: it needs {@code SCM_RIGHTS} ancillary data,
 * which the JDK's Unix-domain {@code SocketChannel} cannot send. Pass file paths, or {@code /dev/fdset}
 * descriptors set up on QEMU's command line, instead.
 */
public final class QmpClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(QmpClient.class);

    /** Enough for any command on a healthy QEMU; slow ones (e.g. on stuck storage) should pass their own. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    /** The handshake gets at least this long even if finding the socket used up the connect timeout. */
    private static final Duration MIN_HANDSHAKE_TIME = Duration.ofSeconds(1);

    /** Runs future completions off the reader thread, so callers' dependent stages can't stall reading. */
    private static final Executor COMPLETIONS = task -> Thread.ofVirtual().name("qmp-completion").start(task);

    private final Path socket;
    private final QmpChannel channel;
    private final PendingCommands pending = new PendingCommands();
    private final EventDispatcher events;
    private final Thread reader;
    private final CompletableFuture<QmpGreeting> greeting = new CompletableFuture<>();
    private final CompletableFuture<QmpConnectionClosedException> closed = new CompletableFuture<>();
    private final AtomicReference<QmpConnectionClosedException> closeReason = new AtomicReference<>();
    private volatile Duration defaultTimeout = DEFAULT_TIMEOUT;

    private QmpClient(Path socket, QmpChannel channel) {
        this.socket = socket;
        this.channel = channel;
        String name = socket.getFileName() == null ? socket.toString() : socket.getFileName().toString();
        this.events = new EventDispatcher("qmp-events-" + name);
        this.reader = Thread.ofVirtual().name("qmp-reader-" + name).unstarted(this::readLoop);
    }

    /**
     * Connects to a QMP Unix socket, reads the greeting and negotiates capabilities
     * ({@code qmp_capabilities}). Retries connecting until {@code connectTimeout} while the socket file is
     * missing or refuses connections, because QEMU may still be creating it. The handshake must also finish
     * within the timeout, but gets at least one second.
     *
     * @throws SocketTimeoutException if the socket accepts but no greeting arrives, e.g. because another
     *                                client holds the monitor (QEMU serves one client per QMP socket)
     * @throws IOException            if no connection could be made, or it ended during the handshake
     * @throws QmpException           if {@code qmp_capabilities} fails
     */
    public static QmpClient connect(Path socket, Duration connectTimeout) throws IOException {
        return connect(socket, connectTimeout, connectTimeout);
    }

    /**
     * Like {@link #connect(Path, Duration)}, with separate limits for getting a connection and for the greeting and
     * {@code qmp_capabilities} after it (a busy host can take seconds to answer a QEMU that is still starting).
     */
    public static QmpClient connect(Path socket, Duration connectTimeout, Duration handshakeTimeout) throws IOException {
        long deadline = System.nanoTime() + handshakeTimeout.toNanos();
        QmpClient client = new QmpClient(socket, QmpChannel.open(socket, connectTimeout));
        client.events.start();
        client.reader.start();
        try {
            client.awaitGreeting(handshakeTime(deadline));
            ObjectNode enable = null;
            if (client.outOfBand()) {
                enable = QmpJson.object();
                enable.putArray("enable").add("oob");
            }
            client.execute("qmp_capabilities", enable, handshakeTime(deadline));
            return client;
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** Builds command arguments from alternating keys and values; see {@link QmpArgs#of}. */
    public static ObjectNode args(Object... keyValues) {
        return QmpArgs.of(keyValues);
    }

    public QmpGreeting greeting() {
        return greeting.join();
    }

    /** The socket this client is connected to. */
    public Path socket() {
        return socket;
    }

    /** Whether {@link #executeOutOfBand} really goes out of band: QEMU offered {@code oob}, so it was enabled. */
    public boolean outOfBand() {
        return greeting.isDone() && !greeting.isCompletedExceptionally() && greeting.join().hasCapability("oob");
    }

    public Duration defaultTimeout() {
        return defaultTimeout;
    }

    /** Sets the timeout used by the {@code execute} overloads that take none. */
    public void setDefaultTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.defaultTimeout = timeout;
    }

    /** Runs a command without arguments and returns its {@code return} value. */
    public JsonNode execute(String command) {
        return execute(command, null, defaultTimeout);
    }

    /** Runs a command and returns its {@code return} value; {@code arguments} may be null. */
    public JsonNode execute(String command, JsonNode arguments) {
        return execute(command, arguments, defaultTimeout);
    }

    /**
     * Runs a command and waits up to {@code timeout} for its answer.
     *
     * @return the command's {@code return} value (often an empty object)
     * @throws QmpErrorException            if QEMU answered with an error
     * @throws QmpTimeoutException          if no answer came in time (a late answer is discarded)
     * @throws QmpConnectionClosedException if the connection is or becomes closed
     * @throws QmpException                 if the waiting thread is interrupted
     */
    public JsonNode execute(String command, JsonNode arguments, Duration timeout) {
        return await(command, submit(command, arguments, false), timeout);
    }

    /**
     * Like {@link #execute(String, JsonNode, Duration)}, sent as {@code exec-oob}: QEMU runs it at once, past the
     * in-band commands queued before it, even while its main loop is stuck. Only commands QEMU marks
     * {@code allow-oob} may be sent so (e.g. {@code migrate-pause}, {@code migrate-recover}); without the capability
     * it is sent in-band.
     */
    public JsonNode executeOutOfBand(String command, JsonNode arguments, Duration timeout) {
        return await(command, submit(command, arguments, outOfBand()), timeout);
    }

    private JsonNode await(String command, CompletableFuture<JsonNode> answer, Duration timeout) {
        try {
            return answer.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            QmpTimeoutException timedOut = new QmpTimeoutException(command, timeout);
            if (answer.completeExceptionally(timedOut)) {
                throw timedOut;
            }
            return answer.join(); // the answer won the race after all
        } catch (ExecutionException e) {
            throw asQmpException(e.getCause());
        } catch (InterruptedException e) {
            answer.cancel(false);
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while waiting for QMP command '" + command + "'", e);
        }
    }

    /**
     * Sends a command and returns at once. The future completes with the {@code return} value, or
     * exceptionally with a {@link QmpErrorException} or {@link QmpConnectionClosedException}. It has no
     * timeout of its own (use {@code orTimeout}); cancelling it forgets the command.
     */
    public CompletableFuture<JsonNode> submit(String command, JsonNode arguments) {
        return submit(command, arguments, false);
    }

    private CompletableFuture<JsonNode> submit(String command, JsonNode arguments, boolean oob) {
        Objects.requireNonNull(command, "command");
        if (arguments != null && !arguments.isObject() && !arguments.isNull()) {
            throw new IllegalArgumentException("QMP arguments must be a JSON object, got " + arguments.getNodeType());
        }
        PendingCommands.Pending request = pending.register(command);
        // Checked after registering: if the connection closed in between, failAll may have missed us.
        QmpConnectionClosedException reason = closeReason.get();
        if (reason != null) {
            request.future().completeExceptionally(closedAgain(reason));
            return request.future();
        }
        ObjectNode message = QmpJson.object().put(oob ? "exec-oob" : "execute", command);
        if (arguments != null && !arguments.isNull()) {
            message.set("arguments", arguments);
        }
        message.put("id", request.id());
        try {
            log.trace("QMP {} -> {}", socket, message);
            channel.write(message);
        } catch (IOException e) {
            connectionEnded(new QmpConnectionClosedException("I/O error writing to QMP monitor " + socket + ": " + e.getMessage(), e));
        }
        return request.future();
    }

    /** Subscribes to all events. Closing the returned handle unsubscribes. */
    public AutoCloseable onEvent(QmpEventListener listener) {
        return events.subscribe(null, Objects.requireNonNull(listener, "listener"));
    }

    /** Subscribes to events named {@code eventName}, e.g. {@code "SHUTDOWN"}. Closing the returned handle unsubscribes. */
    public AutoCloseable onEvent(String eventName, QmpEventListener listener) {
        return events.subscribe(Objects.requireNonNull(eventName, "eventName"), Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Completes once, when the connection ends, with the exception pending commands failed with; its
     * message says why. Events received before the end may still be being delivered when it completes.
     */
    public CompletableFuture<QmpConnectionClosedException> closed() {
        return closed;
    }

    /**
     * Completes after the connection ended once every event read before the end was delivered to the listeners
     * (which {@link #closed()} does not wait for): what decides "did QEMU say X before it died" without a race.
     */
    public CompletableFuture<Void> eventsDelivered() {
        return events.delivered();
    }

    public boolean isOpen() {
        return closeReason.get() == null;
    }

    /** Closes the connection; idempotent. Pending commands fail with {@link QmpConnectionClosedException}. */
    @Override
    public void close() {
        connectionEnded(new QmpConnectionClosedException("QMP client for " + socket + " was closed"));
    }

    @Override
    public String toString() {
        return "QmpClient[" + socket + (isOpen() ? "" : ", closed") + "]";
    }

    private void readLoop() {
        QmpConnectionClosedException reason;
        try {
            JsonNode message;
            while ((message = channel.read()) != null) {
                route(message);
            }
            reason = new QmpConnectionClosedException("QEMU closed the monitor connection " + socket);
        } catch (QmpProtocolException e) {
            reason = new QmpConnectionClosedException("QMP monitor " + socket + " sent invalid input: " + e.getMessage(), e);
        } catch (IOException e) {
            // Also how a close() from another thread surfaces here; connectionEnded then keeps close()'s reason.
            // Otherwise, on a local Unix socket a read fails essentially only when the peer went away: QEMU
            // dying with requests still unread in its socket buffer makes the kernel report ECONNRESET, not EOF.
            reason = new QmpConnectionClosedException("QEMU closed the monitor connection " + socket + " abruptly (" + e + ")", e);
        } catch (RuntimeException e) {
            log.error("QMP reader for {} failed unexpectedly", socket, e);
            reason = new QmpConnectionClosedException("QMP reader for " + socket + " failed: " + e, e);
        }
        connectionEnded(reason);
    }

    private void route(JsonNode message) {
        log.trace("QMP {} <- {}", socket, message);
        if (!greeting.isDone()) {
            if (!QmpGreeting.isGreeting(message)) {
                throw new QmpProtocolException("expected a QMP greeting, got: " + message);
            }
            greeting.complete(QmpGreeting.fromJson(message));
        } else if (message.has("event")) {
            events.dispatch(QmpEvent.fromJson(message));
        } else if (message.has("return") || message.has("error")) {
            answer(message);
        } else {
            log.warn("QMP {}: ignoring message of unknown kind: {}", socket, message);
        }
    }

    private void answer(JsonNode message) {
        JsonNode id = message.get("id");
        if (id == null || !id.canConvertToLong()) {
            log.warn("QMP {}: ignoring answer without a usable id: {}", socket, message);
            return;
        }
        PendingCommands.Pending request = pending.take(id.asLong());
        if (request == null) {
            log.debug("QMP {}: ignoring late or unknown answer (command timed out or was cancelled): {}", socket, message);
            return;
        }
        JsonNode error = message.get("error");
        if (error != null) {
            QmpErrorException failure = new QmpErrorException(request.command(),
                    error.path("class").asText("GenericError"), error.path("desc").asText(""));
            COMPLETIONS.execute(() -> request.future().completeExceptionally(failure));
        } else {
            JsonNode result = message.get("return");
            COMPLETIONS.execute(() -> request.future().complete(result));
        }
    }

    /** The single place the connection ends; first caller's reason wins, later calls do nothing. */
    private void connectionEnded(QmpConnectionClosedException reason) {
        if (!closeReason.compareAndSet(null, reason)) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("QMP {}: error closing socket", socket, e);
        }
        log.debug("QMP {}: connection ended: {}", socket, reason.getMessage());
        greeting.completeExceptionally(reason);
        for (PendingCommands.Pending request : pending.takeAll()) {
            COMPLETIONS.execute(() -> request.future().completeExceptionally(reason));
        }
        events.shutdown();
        COMPLETIONS.execute(() -> closed.complete(reason));
    }

    private void awaitGreeting(Duration timeout) throws IOException {
        try {
            greeting.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new SocketTimeoutException("no QMP greeting on " + socket + " within " + timeout
                    + " (is another client connected to this monitor?)");
        } catch (ExecutionException e) {
            throw new IOException("QMP handshake on " + socket + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the QMP greeting on " + socket);
        }
    }

    /** A fresh exception per late caller, so each gets its own stack trace, with the original reason as cause. */
    private static QmpConnectionClosedException closedAgain(QmpConnectionClosedException reason) {
        return new QmpConnectionClosedException(reason.getMessage(), reason);
    }

    private static QmpException asQmpException(Throwable failure) {
        if (failure instanceof QmpException qmp) {
            return qmp;
        }
        return new QmpException("QMP command failed: " + failure, failure);
    }

    private static Duration handshakeTime(long deadline) {
        Duration remaining = Duration.ofNanos(deadline - System.nanoTime());
        return remaining.compareTo(MIN_HANDSHAKE_TIME) < 0 ? MIN_HANDSHAKE_TIME : remaining;
    }
}
