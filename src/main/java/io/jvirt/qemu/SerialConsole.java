package io.jvirt.qemu;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's single connection to a VM's serial console socket, shared by every viewer.
 *
 * <p>QEMU's socket chardev takes one client at a time, so the daemon is that client and fans the output out to
 * subscribers; input from any viewer is written back to the guest. QEMU also writes everything the guest sends
 * to the console log (chardev {@code logfile=}), including what it sent while nobody was connected; a new
 * subscriber gets exactly that history followed by live output, with neither gap nor overlap.
 */
public final class SerialConsole implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SerialConsole.class);
    private static final int MAX_QUEUED_CHUNKS = 4096;

    private final SocketChannel channel;
    private final Path logFile;
    private final long logBaseline;
    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private final Object writeLock = new Object();
    private long received;
    private volatile boolean closed;

    private SerialConsole(SocketChannel channel, Path logFile, long logBaseline) {
        this.channel = channel;
        this.logFile = logFile;
        this.logBaseline = logBaseline;
    }

    /** Connects to the console socket; everything the log holds at this instant counts as history. */
    public static SerialConsole connect(Path socket, Path logFile) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        long baseline = Files.exists(logFile) ? Files.size(logFile) : 0;
        SerialConsole console = new SerialConsole(ch, logFile, baseline);
        Thread.ofVirtual().name("console-" + socket.getParent().getFileName()).start(console::readLoop);
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
                byte[] chunk = new byte[n];
                buf.flip();
                buf.get(chunk);
                synchronized (this) {
                    received += n;
                    for (Subscription s : subscribers) {
                        s.offer(chunk);
                    }
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

    /** Subscribes to output: {@link Subscription#history()} then {@link Subscription#next} for live bytes. */
    public Subscription subscribe() {
        Subscription s;
        long historyEnd;
        synchronized (this) {
            s = new Subscription();
            historyEnd = logBaseline + received;
            if (closed) {
                s.end();
            } else {
                subscribers.add(s);
            }
        }
        s.history = readHistory(historyEnd);
        return s;
    }

    /** Output so far, without subscribing (what `jvirt console` prints without --follow). */
    public byte[] history() {
        long end;
        synchronized (this) {
            end = logBaseline + received;
        }
        return readHistory(end);
    }

    private byte[] readHistory(long end) {
        // QEMU writes to the socket before the log file, so the last bytes we received may reach the file a
        // moment later: wait briefly for the file to catch up with what we already got from the socket.
        for (int attempt = 0; ; attempt++) {
            try {
                byte[] all = Files.exists(logFile) ? Files.readAllBytes(logFile) : new byte[0];
                if (all.length >= end || attempt >= 50) {
                    int len = (int) Math.min(end, all.length);
                    return java.util.Arrays.copyOf(all, len);
                }
                Thread.sleep(2);
            } catch (IOException e) {
                return new byte[0];
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new byte[0];
            }
        }
    }

    /** Types bytes into the guest's serial port. */
    public void write(byte[] data) throws IOException {
        synchronized (writeLock) {
            ByteBuffer buf = ByteBuffer.wrap(data);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
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
        List<Subscription> ended;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            ended = List.copyOf(subscribers);
            subscribers.clear();
        }
        ended.forEach(Subscription::end);
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a socket whose peer is gone
        }
    }

    /** One viewer's view of the console. Slow viewers that fall far behind are cut off, never the guest. */
    public final class Subscription implements AutoCloseable {
        private static final byte[] END = new byte[0];
        private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
        private volatile byte[] history;
        private volatile boolean ended;

        public byte[] history() {
            return history;
        }

        /** Next chunk of live output; null on timeout; an empty array once the console has closed. */
        public byte[] next(long timeout, TimeUnit unit) throws InterruptedException {
            if (ended && queue.isEmpty()) {
                return END;
            }
            byte[] chunk = queue.poll(timeout, unit);
            return chunk;
        }

        void offer(byte[] chunk) {
            if (queue.size() >= MAX_QUEUED_CHUNKS) {
                log.warn("console viewer fell behind; disconnecting it");
                subscribers.remove(this);
                end();
                return;
            }
            queue.offer(chunk);
        }

        void end() {
            if (!ended) {
                ended = true;
                queue.offer(END);
            }
        }

        @Override
        public void close() {
            subscribers.remove(this);
            end();
        }
    }
}
