package io.jvirt.cli;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;

/**
 * HTTP/1.1 exchanges with jvirtd over connections from a {@link Connector}: idle connections are kept and reused (a
 * request on a reused connection that the server had closed meanwhile is retried once on a fresh one), and a
 * {@link Watchdog} closes a connection whose call ran out of time (a blocked channel read cannot time out otherwise).
 *
 * <p>Thread-safe: concurrent requests use separate connections. {@link #close()} closes every connection, also those
 * in use, which makes a blocked read fail (used to detach from streams).
 */
final class HttpTransport implements Closeable {
    private final Connector connector;
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();
    private final Set<Connection> open = new HashSet<>();
    private volatile boolean closed;

    HttpTransport(Connector connector) {
        this.connector = connector;
    }

    String target() {
        return connector.target();
    }

    /**
     * Sends one request and returns the answer with its body unread. The caller closes the response; a fully read
     * body hands the connection back for reuse, anything else closes it.
     *
     * @param requestTarget path and query, already encoded
     * @param dog           limits the exchange (its connection is closed when time is up), or null
     */
    HttpResponse exchange(String method, String requestTarget, String accept, byte[] body, String contentType,
                          Watchdog dog) throws IOException {
        StringBuilder head = new StringBuilder(160).append(method).append(' ').append(requestTarget)
                .append(" HTTP/1.1\r\nHost: ").append(connector.authority())
                .append("\r\nUser-Agent: jvirt-cli\r\nAccept: ").append(accept).append("\r\n");
        if (body != null) {
            head.append("Content-Type: ").append(contentType == null ? "application/octet-stream" : contentType)
                    .append("\r\nContent-Length: ").append(body.length).append("\r\n");
        } else if (!method.equals("GET") && !method.equals("HEAD")) {
            head.append("Content-Length: 0\r\n");
        }
        byte[] headBytes = head.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
        for (int attempt = 0; ; attempt++) {
            Connection c = acquire();
            if (dog != null) dog.watch(c);
            try {
                c.write(headBytes, body);
                return HttpResponse.read(c, method);
            } catch (IOException e) {
                boolean retry = c.reused && c.received == 0 && attempt == 0 && !closed && (dog == null || !dog.fired);
                c.close();
                if (!retry) {
                    if (closed && !(e instanceof SocketTimeoutException)) throw new ClientClosedException(e);
                    throw e;
                }
            }
        }
    }

    private Connection acquire() throws IOException {
        synchronized (this) {
            if (closed) throw new ClientClosedException(null);
            Connection c = idle.pollFirst();
            if (c != null) {
                c.reused = true;
                c.received = 0;
                return c;
            }
        }
        Connection c = new Connection(connector.connect());
        synchronized (this) {
            if (closed) {
                c.close();
                throw new ClientClosedException(null);
            }
            open.add(c);
        }
        return c;
    }

    /** Closes every connection, including those in use: blocked reads on them fail. */
    @Override
    public void close() {
        Connection[] all;
        synchronized (this) {
            closed = true;
            all = open.toArray(new Connection[0]);
        }
        for (Connection c : all) c.close();
    }

    /** One HTTP connection with a small read buffer; {@link HttpResponse} reads its answers from it. */
    final class Connection {
        private final ByteChannel ch;
        private final byte[] buf = new byte[16384];
        private final ByteBuffer bb = ByteBuffer.wrap(buf);
        private int pos;
        private int lim;
        boolean reused;
        long received;

        Connection(ByteChannel ch) {
            this.ch = ch;
        }

        void write(byte[] head, byte[] body) throws IOException {
            ByteBuffer h = ByteBuffer.wrap(head);
            if (body == null || body.length == 0) {
                while (h.hasRemaining()) ch.write(h);
            } else if (ch instanceof GatheringByteChannel g) { // head and body in one segment where the channel can
                ByteBuffer[] bufs = {h, ByteBuffer.wrap(body)};
                while (bufs[1].hasRemaining()) g.write(bufs);
            } else {
                ByteBuffer all = ByteBuffer.allocate(head.length + body.length).put(head).put(body).flip();
                while (all.hasRemaining()) ch.write(all);
            }
        }

        private int fill() throws IOException {
            bb.clear();
            int n = ch.read(bb);
            pos = 0;
            lim = Math.max(n, 0);
            if (n > 0) received += n;
            return n;
        }

        int read() throws IOException {
            if (pos >= lim && fill() < 0) return -1;
            return buf[pos++] & 0xff;
        }

        /** Reads what is buffered, or else what one socket read yields: returns as soon as some bytes exist. */
        int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            if (pos >= lim) {
                if (len >= buf.length) {
                    int n = ch.read(ByteBuffer.wrap(b, off, len));
                    if (n > 0) received += n;
                    return n;
                }
                if (fill() < 0) return -1;
            }
            int n = Math.min(len, lim - pos);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            return n;
        }

        /** A CRLF/LF-terminated header line without the terminator; null on EOF before any byte. */
        String readLine() throws IOException {
            StringBuilder sb = new StringBuilder(64);
            while (true) {
                int c = read();
                if (c < 0) {
                    if (sb.length() == 0) return null;
                    throw new EOFException("connection closed in the middle of an HTTP header");
                }
                if (c == '\n') break;
                if (sb.length() > 65536) throw new IOException("HTTP header line too long");
                sb.append((char) c);
            }
            int n = sb.length();
            if (n > 0 && sb.charAt(n - 1) == '\r') sb.setLength(n - 1);
            return sb.toString();
        }

        /** The answer was read to its end: keep the connection for the next request (unless closing). */
        void release() {
            synchronized (HttpTransport.this) {
                if (!closed && ch.isOpen()) {
                    idle.addFirst(this);
                    return;
                }
            }
            close();
        }

        void close() {
            synchronized (HttpTransport.this) {
                open.remove(this);
                idle.remove(this);
            }
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /** Closes the watched connection when the time is up (blocked channel reads cannot time out otherwise). */
    static final class Watchdog {
        private final long millis;
        volatile boolean fired;
        private volatile boolean cancelled;
        private Thread thread;

        Watchdog(long millis) {
            this.millis = millis;
        }

        void watch(Connection c) {
            if (thread != null) thread.interrupt();
            thread = new Thread(() -> {
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    return;
                }
                if (!cancelled) {
                    fired = true;
                    c.close();
                }
            }, "jvirt-timeout");
            thread.setDaemon(true);
            thread.start();
        }

        void cancel() {
            cancelled = true;
            if (thread != null) thread.interrupt();
        }
    }
}
