package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The guest agent's wire protocol on one connection to a VM's qga socket: one JSON object per line each way, with
 * nothing trusted about what the guest writes.
 *
 * <ul>
 *   <li><b>Sync.</b> {@code guest-sync-delimited} after connecting and whenever the channel may be out of step (a
 *   timeout, a garbled or unexpected reply, bytes nobody asked for): a 0xFF goes out first (it resets the agent's
 *   parser), and everything that comes back is skipped up to the 0xFF the agent puts before its sync answer and an
 *   answer carrying this sync's own random id. Answers of abandoned requests cannot be taken for a later reply.</li>
 *   <li><b>Bounded reads.</b> A line is kept up to the call's limit; a longer one is read to its end and dropped,
 *   and the call fails. A 0xFF inside a line drops what came before it. Memory per connection is one 16 KiB
 *   buffer plus at most one line of the limit, whatever the guest sends.</li>
 *   <li><b>Timeouts.</b> Each call has a deadline; at the deadline the connection is closed (a blocked read ends
 *   at once, a flood stops being read) and the call fails with {@link GuestAgentException.Kind#TIMEOUT}. The
 *   caller reconnects, which syncs again.</li>
 * </ul>
 *
 * <p>One call at a time: the caller serialises (io.jvirt.guest's agent slot does). Only {@link #close()} may be
 * called from another thread.
 */
final class AgentChannel implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte DELIMITER = (byte) 0xFF;
    /** Closes connections whose call ran out of time; one daemon thread for the whole process. */
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "qga-deadlines");
        t.setDaemon(true);
        return t;
    });

    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocate(16 * 1024).flip(); // read mode: position..limit unread
    private final AtomicBoolean timedOut = new AtomicBoolean();
    private boolean synced;

    private AgentChannel(SocketChannel channel) {
        this.channel = channel;
    }

    static AgentChannel open(Path socket) {
        try {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            return new AgentChannel(ch);
        } catch (IOException e) {
            throw new GuestAgentException(GuestAgentException.Kind.UNAVAILABLE, null,
                    "cannot connect to the guest agent channel " + socket + ": " + e.getMessage(), e);
        }
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    /** Brings the channel in step with the agent (see the class comment); within {@code timeout}. */
    void sync(Duration timeout) {
        long id = ThreadLocalRandom.current().nextLong(1, 1L << 52);
        try (Deadline d = deadline(timeout)) {
            in.position(in.limit()); // whatever was buffered is stale
            ByteBuffer out = ByteBuffer.allocate(1 + 128);
            out.put(DELIMITER).put(line("guest-sync-delimited", JSON.createObjectNode().put("id", id)));
            write(out.flip());
            while (true) {
                skipToDelimiter();
                byte[] l = readLine(256);
                JsonNode answer = l == null ? null : parse(l);
                if (answer != null && answer.path("return").asLong(-1) == id) {
                    synced = true;
                    return;
                }
            }
        } catch (IOException e) {
            throw failure("guest-sync-delimited", timeout, e);
        }
    }

    /**
     * Sends {@code command} and returns its reply's {@code return} (syncing first when needed). An {@code error}
     * reply is a {@link GuestAgentException.Kind#ERROR} with the agent's own words.
     */
    JsonNode execute(String command, ObjectNode arguments, Duration timeout, int maxReply) {
        if (!synced || unsolicitedBytes()) {
            sync(timeout);
        }
        try (Deadline d = deadline(timeout)) {
            write(ByteBuffer.wrap(line(command, arguments)));
            synced = false; // until its reply is read
            byte[] l = readLine(maxReply);
            if (l == null) {
                throw new GuestAgentException(GuestAgentException.Kind.PROTOCOL, command, "the guest agent's reply to "
                        + command + " is larger than " + maxReply + " bytes; it was dropped", null);
            }
            JsonNode reply = parse(l);
            if (reply == null || !reply.isObject() || !(reply.has("return") || reply.has("error"))) {
                throw new GuestAgentException(GuestAgentException.Kind.PROTOCOL, command,
                        "the guest agent sent something that is not a reply to " + command + "; the channel is resynchronised", null);
            }
            synced = true;
            if (reply.has("error")) {
                JsonNode e = reply.path("error");
                throw new GuestAgentException(GuestAgentException.Kind.ERROR, command, "guest agent: " + command + ": "
                        + e.path("desc").asText("error") + " (" + e.path("class").asText("GenericError") + ")", null);
            }
            return reply.path("return");
        } catch (IOException e) {
            throw failure(command, timeout, e);
        }
    }

    /** Sends a command the agent does not answer when it succeeds (guest-shutdown); the next call syncs first. */
    void send(String command, ObjectNode arguments, Duration timeout) {
        if (!synced || unsolicitedBytes()) {
            sync(timeout);
        }
        try (Deadline d = deadline(timeout)) {
            synced = false;
            write(ByteBuffer.wrap(line(command, arguments)));
        } catch (IOException e) {
            throw failure(command, timeout, e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    // ---- framing -------------------------------------------------------------------------------------------------

    private static byte[] line(String command, ObjectNode arguments) {
        ObjectNode msg = JSON.createObjectNode().put("execute", command);
        if (arguments != null) {
            msg.set("arguments", arguments);
        }
        return (msg + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static JsonNode parse(byte[] line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            return null; // garbage: not JSON
        }
    }

    /** Discards bytes up to and including the next 0xFF. */
    private void skipToDelimiter() throws IOException {
        while (true) {
            while (in.hasRemaining()) {
                if (in.get() == DELIMITER) {
                    return;
                }
            }
            fill();
        }
    }

    /**
     * The next line without its newline, or null when it was longer than {@code max} (then read to its end and
     * dropped). A 0xFF starts the line afresh.
     */
    private byte[] readLine(int max) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(Math.min(max, 4096));
        boolean tooLong = false;
        while (true) {
            while (in.hasRemaining()) {
                byte b = in.get();
                if (b == '\n') {
                    return tooLong ? null : line.toByteArray();
                }
                if (b == DELIMITER) {
                    line.reset();
                    tooLong = false;
                } else if (!tooLong) {
                    if (line.size() >= max) {
                        tooLong = true;
                        line = new ByteArrayOutputStream(0); // let the big buffer go while the rest is skipped
                    } else {
                        line.write(b);
                    }
                }
            }
            fill();
        }
    }

    private void fill() throws IOException {
        in.clear();
        int n = channel.read(in);
        in.flip();
        if (n < 0) {
            throw new ClosedChannelException();
        }
    }

    private void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** True if bytes arrived that no request asked for (a guest writing on its own): the channel needs a sync. */
    private boolean unsolicitedBytes() {
        if (in.hasRemaining()) {
            return true;
        }
        try {
            channel.configureBlocking(false);
            try {
                in.clear();
                int n = channel.read(in);
                in.flip();
                return n != 0; // data, or the end of the stream
            } finally {
                channel.configureBlocking(true);
            }
        } catch (IOException e) {
            return true; // the sync will report what is wrong
        }
    }

    // ---- deadlines -----------------------------------------------------------------------------------------------

    private Deadline deadline(Duration timeout) {
        timedOut.set(false);
        ScheduledFuture<?> f = DEADLINES.schedule(() -> {
            timedOut.set(true);
            close();
        }, Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
    }

    private interface Deadline extends AutoCloseable {
        @Override
        void close();
    }

    private GuestAgentException failure(String command, Duration timeout, IOException e) {
        synced = false;
        close(); // out of step: the next call reconnects and syncs
        if (timedOut.get()) {
            return new GuestAgentException(GuestAgentException.Kind.TIMEOUT, command, "the guest agent did not answer "
                    + command + " within " + seconds(timeout), e);
        }
        return new GuestAgentException(GuestAgentException.Kind.UNAVAILABLE, command,
                "the guest agent channel closed during " + command + ": " + e, e);
    }

    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
