package io.jvirt.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Unix socket to a QMP monitor, speaking whole JSON messages. Reads happen only on the client's
 * reader thread; writes come from any thread and are serialized so messages never interleave.
 */
final class QmpChannel implements Closeable {

    /** Generous: {@code query-qmp-schema} answers are a few hundred KiB; anything near this is garbage. */
    private static final int MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
    private static final byte[] LINE_END = {'\r', '\n'};

    private final SocketChannel socket;
    private final QmpLineReader lines;
    private final ReentrantLock writeLock = new ReentrantLock();

    private QmpChannel(SocketChannel socket) {
        this.socket = socket;
        this.lines = new QmpLineReader(socket, MAX_MESSAGE_BYTES);
    }

    /**
     * Connects, retrying while the socket file is missing or refuses connections, because QEMU creates
     * and starts listening on it some time after its process starts.
     */
    static QmpChannel open(Path path, Duration timeout) throws IOException {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
        long deadline = System.nanoTime() + timeout.toNanos();
        long pauseMillis = 5;
        while (true) {
            SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                socket.connect(address);
                return new QmpChannel(socket);
            } catch (IOException e) {
                socket.close();
                if (System.nanoTime() - deadline >= 0) {
                    throw new IOException("cannot connect to QMP socket " + path + " within " + timeout + ": " + e.getMessage(), e);
                }
            }
            sleep(Math.min(pauseMillis, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
            pauseMillis = Math.min(pauseMillis * 2, 100);
        }
    }

    /**
     * The next message, or {@code null} at end of stream. Blank lines are skipped.
     *
     * @throws QmpProtocolException if a line is not a JSON object
     */
    JsonNode read() throws IOException {
        while (true) {
            byte[] line = lines.readLine();
            if (line == null) {
                return null;
            }
            if (isBlank(line)) {
                continue;
            }
            JsonNode message;
            try {
                message = QmpJson.mapper().readTree(line);
            } catch (IOException e) {
                throw new QmpProtocolException("malformed JSON from QMP peer: " + preview(line), e);
            }
            if (message == null || !message.isObject()) {
                throw new QmpProtocolException("QMP message is not a JSON object: " + preview(line));
            }
            return message;
        }
    }

    void write(ObjectNode message) throws IOException {
        byte[] json = QmpJson.mapper().writeValueAsBytes(message);
        ByteBuffer buffer = ByteBuffer.allocate(json.length + LINE_END.length).put(json).put(LINE_END).flip();
        writeLock.lock();
        try {
            while (buffer.hasRemaining()) {
                socket.write(buffer);
            }
        } finally {
            writeLock.unlock();
        }
    }

    /** Closing also wakes the reader thread blocked in {@link #read()}. */
    @Override
    public void close() throws IOException {
        socket.close();
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private static String preview(byte[] line) {
        String text = new String(line, 0, Math.min(line.length, 200), StandardCharsets.UTF_8);
        return line.length > 200 ? text + "..." : text;
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while connecting to QMP socket");
        }
    }
}
