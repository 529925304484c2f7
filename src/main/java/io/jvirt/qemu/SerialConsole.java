package io.jvirt.qemu;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's single connection to a VM's serial console socket, shared by every viewer.
 *
 * <p>QEMU's socket chardev takes one client at a time, so the daemon is that client: it fans the output out to
 * followers ({@link ConsoleRing}, bounded), rotates {@code console.log} by the bytes it sees ({@link ConsoleLog},
 * capped), and writes viewers' input back ({@link ConsoleInput}, with a timeout). QEMU writes everything the guest
 * sends to the log, including what it sent while nobody was connected; a follower gets a range of that history
 * up to a mark and then live output from exactly that mark, with neither gap nor overlap.
 */
public final class SerialConsole implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SerialConsole.class);

    private final SocketChannel channel;
    private final ConsoleLog logFile;
    private final ConsolePolicy policy;
    private final ConsoleRing ring;
    private final ConsoleInput input;
    /** Makes "log end + ring position" one snapshot: taken by the reader per chunk and by {@link #follow()}. */
    private final ReentrantLock state = new ReentrantLock();
    private volatile boolean closed;

    private SerialConsole(SocketChannel channel, ConsoleLog logFile, ConsolePolicy policy, String vm) {
        this.channel = channel;
        this.logFile = logFile;
        this.policy = policy;
        this.ring = new ConsoleRing(policy::followBuffer);
        this.input = new ConsoleInput(channel, vm);
    }

    /** Connects to the console socket with the daemon's {@link ConsolePolicy#global() policy}. */
    public static SerialConsole connect(Path socket, Path logFile) throws IOException {
        return connect(socket, logFile, ConsolePolicy.global());
    }

    /** Connects; everything the log holds at this instant counts as history (rotated first if over the cap). */
    public static SerialConsole connect(Path socket, Path logFile, ConsolePolicy policy) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        ConsoleLog consoleLog = ConsoleLog.open(logFile, policy::logBytes);
        if (consoleLog.overCap()) {
            // it grew while no daemon was connected (see ConsoleLog): keep its end
            try {
                consoleLog.rotate();
            } catch (IOException e) {
                log.warn("cannot rotate console log {}: {}", logFile, e.toString());
            }
        }
        String vm = socket.getParent().getFileName().toString();
        SerialConsole console = new SerialConsole(ch, consoleLog, policy, vm);
        Thread.ofVirtual().name("console-" + vm).start(console::readLoop);
        return console;
    }

    private void readLoop() {
        ByteBuffer buf = ByteBuffer.allocate(8192);
        try {
            while (true) {
                buf.clear();
                int n = channel.read(buf);
                if (n < 0) {
                    break;
                }
                boolean full;
                state.lock();
                try {
                    full = logFile.received(n);
                    ring.append(buf.array(), 0, n);
                } finally {
                    state.unlock();
                }
                if (full) {
                    rotate();
                }
            }
        } catch (IOException e) {
            if (!closed) {
                log.debug("console read ended: {}", e.toString());
            }
        } finally {
            closeQuietly();
        }
    }

    private void rotate() {
        try {
            logFile.rotate();
        } catch (IOException e) {
            // the guest's output still reaches followers; the next chunk tries again
            log.warn("cannot rotate console log {}: {}", logFile.file(), e.toString());
        }
    }

    /** The console log (history) up to now. */
    public ConsoleLog.Mark mark() {
        return logFile.mark();
    }

    /** A range of the history: bytes [start, mark.end) of the log as of {@code mark}. */
    public ConsoleLog.Reader history(ConsoleLog.Mark mark, long start) {
        return logFile.read(mark, start);
    }

    /** As {@link #history(ConsoleLog.Mark, long)}, preceded by the last {@code before} bytes of console.log.1. */
    public ConsoleLog.Reader history(ConsoleLog.Mark mark, long start, long before) {
        return logFile.read(mark, start, before);
    }

    /** Starts following: the history ends at {@link Follow#historyEnd()}, live output continues from there. */
    public Follow follow() {
        state.lock();
        try {
            return new Follow(logFile.mark(), ring.follow());
        } finally {
            state.unlock();
        }
    }

    /** Types bytes into the guest's serial port; fails with {@code timeout} after the policy's input timeout. */
    public void write(byte[] data) {
        write(data, policy.inputTimeout());
    }

    public void write(byte[] data, Duration timeout) {
        input.write(data, timeout);
    }

    /** The history's last {@code max} bytes (a migration's source sends them to the destination). */
    public ConsoleLog.Tail tail(int max) throws IOException {
        return logFile.tail(max);
    }

    /** What the history gained since {@code since}, at most its last {@code max} bytes. */
    public ConsoleLog.Tail since(ConsoleLog.Mark since, int max) throws IOException {
        return logFile.since(since, max);
    }

    /**
     * Appends another host's history of this guest (a migration's destination, before the guest runs here), in
     * the same snapshot as the live output so a follower sees it as history; rotates if that reached the cap.
     */
    public void appendHistory(byte[] bytes) throws IOException {
        boolean full;
        state.lock();
        try {
            full = logFile.appendHistory(bytes);
        } finally {
            state.unlock();
        }
        if (full) {
            rotate();
        }
    }

    public boolean isOpen() {
        return !closed;
    }

    @Override
    public void close() {
        closeQuietly();
    }

    private void closeQuietly() {
        if (closed) {
            return;
        }
        closed = true;
        ring.close();
        input.close();
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a socket whose peer is gone
        }
    }

    /** One viewer following the console. */
    public static final class Follow implements AutoCloseable {
        private final ConsoleLog.Mark historyEnd;
        private final ConsoleRing.Follower live;

        private Follow(ConsoleLog.Mark historyEnd, ConsoleRing.Follower live) {
            this.historyEnd = historyEnd;
            this.live = live;
        }

        public ConsoleLog.Mark historyEnd() {
            return historyEnd;
        }

        /**
         * Next live bytes into {@code dst}: their count, 0 after {@code timeout} without output, -1 once the console
         * closed. A viewer that fell more than the follow buffer behind first reads a line
         * {@code [jvirt: N bytes dropped: viewer too slow]}.
         */
        public int next(byte[] dst, long timeout, TimeUnit unit) throws InterruptedException {
            return live.next(dst, timeout, unit);
        }

        /** Live bytes this viewer missed for being too slow. */
        public long dropped() {
            return live.dropped();
        }

        @Override
        public void close() {
            live.close();
        }
    }
}
