package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A small HTTP/1.1 client for the jvirtd API over a Unix domain socket or TCP.
 *
 * <p>Hand-written because the JDK {@code HttpClient} cannot use Unix sockets and because the one-shot CLI must start
 * fast (this class and its helpers load a few dozen classes). Features: JSON or raw request bodies,
 * Content-Length / chunked / read-to-close responses, incremental streaming to a consumer (console follow, SSE),
 * keep-alive reuse of idle connections (a request on a reused connection that the server had already closed is
 * retried once on a fresh connection), and API error bodies mapped to {@link ApiException}.
 *
 * <p>Thread-safe: concurrent requests use separate connections. {@link #close()} closes every connection, also
 * those in use, which makes a blocked read fail (used to detach from streams).
 */
public final class ApiClient implements Closeable {
    /** Default socket of a system daemon. */
    public static final String DEFAULT_SOCKET = "/run/jvirt/jvirtd.sock";

    private final SocketAddress address;
    private final ProtocolFamily family;
    private final String hostHeader;
    private final String target;
    private final ArrayDeque<Conn> idle = new ArrayDeque<>();
    private final Set<Conn> open = new HashSet<>();
    private volatile boolean closed;
    private volatile long timeoutMillis;

    private ApiClient(SocketAddress address, ProtocolFamily family, String hostHeader, String target) {
        this.address = address;
        this.family = family;
        this.hostHeader = hostHeader;
        this.target = target;
    }

    /** A client for the daemon listening on the Unix domain socket {@code socket}. */
    public static ApiClient unixSocket(Path socket) {
        return new ApiClient(UnixDomainSocketAddress.of(socket), StandardProtocolFamily.UNIX, "localhost",
                socket.toString());
    }

    /** A client for a TCP daemon: {@code http://host:port} (a trailing {@code /} is allowed; no path). */
    public static ApiClient url(String url) {
        String u = url.trim();
        if (!u.regionMatches(true, 0, "http://", 0, 7)) {
            throw new IllegalArgumentException("--url must look like http://HOST:PORT, got '" + url + "'");
        }
        String hostPort = u.substring(7);
        if (hostPort.endsWith("/")) hostPort = hostPort.substring(0, hostPort.length() - 1);
        if (hostPort.isEmpty() || hostPort.contains("/")) {
            throw new IllegalArgumentException("--url must look like http://HOST:PORT, got '" + url + "'");
        }
        String host;
        int port = 80;
        int colon = hostPort.lastIndexOf(':');
        if (hostPort.startsWith("[")) { // IPv6 literal
            int end = hostPort.indexOf(']');
            if (end < 0) throw new IllegalArgumentException("bad IPv6 address in --url '" + url + "'");
            host = hostPort.substring(1, end);
            if (colon > end) port = parsePort(hostPort.substring(colon + 1), url);
        } else if (colon >= 0) {
            host = hostPort.substring(0, colon);
            port = parsePort(hostPort.substring(colon + 1), url);
        } else {
            host = hostPort;
        }
        return new ApiClient(new InetSocketAddress(host, port), null, hostPort, "http://" + hostPort);
    }

    private static int parsePort(String s, String url) {
        try {
            int p = Integer.parseInt(s);
            if (p > 0 && p < 65536) return p;
        } catch (NumberFormatException ignored) {
            // fall through
        }
        throw new IllegalArgumentException("bad port in --url '" + url + "'");
    }

    /** The socket path or URL, for messages. */
    public String target() { return target; }

    /**
     * Limits every later non-streaming call ({@link #call}, {@link #callRaw}) to this many milliseconds overall;
     * 0 (the default) means no limit. A call that runs out fails with {@link SocketTimeoutException}.
     */
    public void setTimeoutMillis(long millis) { this.timeoutMillis = Math.max(0, millis); }

    // ---------------------------------------------------------------------------------------------- high level

    public JsonNode get(String path) throws IOException, ApiException { return call("GET", path, null, null); }

    public JsonNode get(String path, Map<String, ?> query) throws IOException, ApiException {
        return call("GET", path, query, null);
    }

    public JsonNode post(String path, Map<String, ?> query, JsonNode body) throws IOException, ApiException {
        return call("POST", path, query, body);
    }

    public JsonNode delete(String path) throws IOException, ApiException { return call("DELETE", path, null, null); }

    /**
     * Sends a request with an optional JSON body and returns the parsed JSON answer (null for an empty body, e.g.
     * 204). Non-2xx answers throw {@link ApiException}.
     *
     * @param path  absolute path, already encoded (use {@link #segment(String)} for names)
     * @param query query parameters (values are encoded; null values skipped), or null
     */
    public JsonNode call(String method, String path, Map<String, ?> query, JsonNode body)
            throws IOException, ApiException {
        byte[] raw = callRaw(method, path, query, body == null ? null : Json.bytes(body),
                body == null ? null : "application/json");
        if (raw.length == 0) return null;
        try {
            return Json.parse(raw);
        } catch (Json.FormatException e) {
            throw new IOException("jvirtd sent malformed JSON: " + e.getMessage(), e);
        }
    }

    /** Like {@link #call} with a raw body (or null) and the raw answer. Non-2xx answers throw {@link ApiException}. */
    public byte[] callRaw(String method, String path, Map<String, ?> query, byte[] body, String contentType)
            throws IOException, ApiException {
        long limit = timeoutMillis;
        Watchdog dog = limit > 0 ? new Watchdog(limit) : null;
        try (Response r = exchange(method, path, query, body, contentType, "application/json", dog)) {
            byte[] answer = r.readAllBytes();
            if (r.status() / 100 != 2) throw toApiException(r.status(), answer);
            return answer;
        } catch (IOException e) {
            if (dog != null && dog.fired) {
                throw new SocketTimeoutException("no answer from jvirtd within " + limit + " ms");
            }
            throw e;
        } finally {
            if (dog != null) dog.cancel();
        }
    }

    /** Receives the bytes of a streamed answer as they arrive. */
    @FunctionalInterface
    public interface ByteSink {
        void accept(byte[] buf, int off, int len) throws IOException;
    }

    /**
     * Sends a request and hands the answer's body to {@code sink} chunk by chunk as it arrives, until the server ends
     * it (or the client is closed, which ends it with an IOException). Non-2xx answers throw {@link ApiException}.
     */
    public void stream(String method, String path, Map<String, ?> query, ByteSink sink)
            throws IOException, ApiException {
        try (Response r = exchange(method, path, query, null, null, "*/*", null)) {
            if (r.status() / 100 != 2) throw toApiException(r.status(), r.readAllBytes());
            byte[] buf = new byte[8192];
            InputStream in = r.body();
            for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) {
                if (n > 0) sink.accept(buf, 0, n);
            }
        }
    }

    /** Receives Server-Sent Events. */
    @FunctionalInterface
    public interface EventListener {
        /**
         * @param type the {@code event:} field ({@code message} when absent)
         * @param data the {@code data:} lines joined with {@code \n}
         * @return false to stop listening
         */
        boolean onEvent(String type, String data) throws IOException;
    }

    /** Streams {@code GET path} as Server-Sent Events (e.g. {@code /v1/events}) until it ends or the listener stops. */
    public void events(String path, Map<String, ?> query, EventListener listener) throws IOException, ApiException {
        events(path, query, () -> { }, listener);
    }

    /** As {@link #events(String, Map, EventListener)}; {@code onOpen} runs once the daemon has subscribed us. */
    public void events(String path, Map<String, ?> query, Runnable onOpen, EventListener listener)
            throws IOException, ApiException {
        try (Response r = exchange("GET", path, query, null, null, "text/event-stream", null)) {
            if (r.status() / 100 != 2) throw toApiException(r.status(), r.readAllBytes());
            onOpen.run();
            InputStream in = r.body();
            ByteArrayOutputStream line = new ByteArrayOutputStream(256);
            String type = null;
            StringBuilder data = null;
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) {
                for (int i = 0; i < n; i++) {
                    byte b = buf[i];
                    if (b != '\n') {
                        line.write(b);
                        continue;
                    }
                    String l = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    if (l.endsWith("\r")) l = l.substring(0, l.length() - 1);
                    if (l.isEmpty()) { // dispatch
                        if (data != null) {
                            if (!listener.onEvent(type == null ? "message" : type, data.toString())) return;
                        }
                        type = null;
                        data = null;
                    } else if (l.charAt(0) == ':') {
                        // comment (keep-alive)
                    } else {
                        int c = l.indexOf(':');
                        String field = c < 0 ? l : l.substring(0, c);
                        String value = c < 0 ? "" : l.substring(c + 1);
                        if (value.startsWith(" ")) value = value.substring(1);
                        if (field.equals("event")) {
                            type = value;
                        } else if (field.equals("data")) {
                            if (data == null) data = new StringBuilder(value);
                            else data.append('\n').append(value);
                        }
                    }
                }
            }
        }
    }

    /** Turns an error answer into an {@link ApiException}, also when the body is not the API's error object. */
    static ApiException toApiException(int status, byte[] body) {
        JsonNode node = null;
        try {
            node = body.length == 0 ? null : Json.parse(body);
        } catch (IOException ignored) {
            // not JSON
        }
        if (node != null && node.path("error").isObject()) return ApiException.fromError(status, node.get("error"));
        String text = new String(body, StandardCharsets.UTF_8).strip();
        if (text.length() > 200) text = text.substring(0, 200) + "…";
        return new ApiException(status, null, "HTTP " + status + (text.isEmpty() ? "" : ": " + text), null);
    }

    // ---------------------------------------------------------------------------------------------- low level

    /**
     * Sends one request and returns the answer with its body unread. The caller must close the response; a fully
     * read body returns the connection for reuse, anything else closes it.
     */
    public Response exchange(String method, String path, Map<String, ?> query, byte[] body, String contentType)
            throws IOException {
        return exchange(method, path, query, body, contentType, "*/*", null);
    }

    private Response exchange(String method, String path, Map<String, ?> query, byte[] body, String contentType,
                              String accept, Watchdog dog) throws IOException {
        StringBuilder head = new StringBuilder(160).append(method).append(' ').append(path);
        appendQuery(head, query);
        head.append(" HTTP/1.1\r\nHost: ").append(hostHeader)
                .append("\r\nUser-Agent: jvirt-cli\r\nAccept: ").append(accept).append("\r\n");
        if (body != null) {
            head.append("Content-Type: ").append(contentType == null ? "application/octet-stream" : contentType)
                    .append("\r\nContent-Length: ").append(body.length).append("\r\n");
        } else if (!method.equals("GET") && !method.equals("HEAD")) {
            head.append("Content-Length: 0\r\n");
        }
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.UTF_8);

        for (int attempt = 0; ; attempt++) {
            Conn c = acquire();
            if (dog != null) dog.watch(c);
            try {
                c.write(headBytes, body);
                return readResponse(c, method);
            } catch (IOException e) {
                boolean retry = c.reused && c.received == 0 && attempt == 0 && !closed && (dog == null || !dog.fired);
                c.close();
                if (!retry) {
                    if (closed && !(e instanceof SocketTimeoutException)) throw new ClosedException(e);
                    throw e;
                }
            }
        }
    }

    /** Thrown when a request fails because {@link #close()} was called (e.g. detaching from a stream). */
    public static final class ClosedException extends IOException {
        private static final long serialVersionUID = 1L;

        ClosedException(Throwable cause) { super("client closed", cause); }
    }

    private Response readResponse(Conn c, String method) throws IOException {
        while (true) {
            String statusLine = c.readLine();
            if (statusLine == null) throw new EOFException("jvirtd closed the connection without answering");
            // HTTP/1.1 200 OK
            if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
                throw new IOException("bad HTTP status line from jvirtd: " + statusLine);
            }
            int status;
            try {
                status = Integer.parseInt(statusLine.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("bad HTTP status line from jvirtd: " + statusLine, e);
            }
            boolean http11 = statusLine.charAt(7) == '1';
            Map<String, String> headers = new HashMap<>();
            for (String h; ; ) {
                h = c.readLine();
                if (h == null) throw new EOFException("jvirtd closed the connection in the middle of its answer");
                if (h.isEmpty()) break;
                int colon = h.indexOf(':');
                if (colon <= 0) continue;
                String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).trim();
                headers.merge(name, value, (a, b) -> a + ", " + b);
            }
            if (status >= 100 && status < 200 && status != 101) continue; // interim answer
            String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
            boolean keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
            String te = headers.getOrDefault("transfer-encoding", "").toLowerCase(Locale.ROOT);
            String cl = headers.get("content-length");
            Body body;
            if (method.equals("HEAD") || status == 204 || status == 304) {
                body = new Body(c, Body.FIXED, 0, keepAlive);
            } else if (te.contains("chunked")) {
                body = new Body(c, Body.CHUNKED, 0, keepAlive);
            } else if (cl != null) {
                long len;
                try {
                    len = Long.parseLong(cl.contains(",") ? cl.substring(0, cl.indexOf(',')).trim() : cl);
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length from jvirtd: " + cl, e);
                }
                body = new Body(c, Body.FIXED, len, keepAlive);
            } else {
                body = new Body(c, Body.TO_EOF, 0, false);
            }
            return new Response(status, headers, body);
        }
    }

    private static void appendQuery(StringBuilder sb, Map<String, ?> query) {
        if (query == null) return;
        char sep = '?';
        for (Map.Entry<String, ?> e : query.entrySet()) {
            if (e.getValue() == null) continue;
            sb.append(sep).append(encode(e.getKey())).append('=').append(encode(String.valueOf(e.getValue())));
            sep = '&';
        }
    }

    /** Percent-encodes one path segment (e.g. a VM name); only RFC 3986 unreserved characters stay as they are. */
    public static String segment(String s) { return encode(s); }

    private static String encode(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length + 8);
        for (byte b : bytes) {
            int c = b & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------------- connections

    private Conn acquire() throws IOException {
        synchronized (this) {
            if (closed) throw new ClosedException(null);
            Conn c = idle.pollFirst();
            if (c != null) {
                c.reused = true;
                c.received = 0;
                return c;
            }
        }
        SocketChannel ch;
        try {
            ch = family == null ? SocketChannel.open() : SocketChannel.open(family);
        } catch (IOException e) {
            throw new IOException("cannot open a socket: " + e.getMessage(), e);
        }
        try {
            ch.connect(address);
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
            throw unreachable(e);
        }
        Conn c = new Conn(ch);
        synchronized (this) {
            if (closed) {
                c.close();
                throw new ClosedException(null);
            }
            open.add(c);
        }
        return c;
    }

    private DaemonUnreachableException unreachable(Exception e) {
        String m = String.valueOf(e.getMessage());
        String lower = m.toLowerCase(Locale.ROOT);
        String why;
        if (e instanceof java.net.ConnectException || lower.contains("no such file") || lower.contains("refused")
                || e instanceof java.nio.file.NoSuchFileException) {
            why = "is it running?";
        } else if (lower.contains("permission denied")) {
            why = "permission denied (is your user allowed to use the socket?)";
        } else {
            why = m;
        }
        return new DaemonUnreachableException("cannot reach jvirtd at " + target + ": " + why, e);
    }

    private synchronized void release(Conn c) {
        if (closed || !c.ch.isOpen()) {
            c.close();
        } else {
            idle.addFirst(c);
        }
    }

    private synchronized void forget(Conn c) {
        open.remove(c);
        idle.remove(c);
    }

    /** Closes every connection, including those in use: blocked reads on them fail. */
    @Override
    public void close() {
        Conn[] all;
        synchronized (this) {
            closed = true;
            all = open.toArray(new Conn[0]);
        }
        for (Conn c : all) c.close();
    }

    /** One HTTP connection with a small read buffer. */
    private final class Conn {
        final SocketChannel ch;
        final byte[] buf = new byte[16384];
        final ByteBuffer bb = ByteBuffer.wrap(buf);
        int pos;
        int lim;
        boolean reused;
        long received;

        Conn(SocketChannel ch) { this.ch = ch; }

        void write(byte[] head, byte[] body) throws IOException {
            ByteBuffer h = ByteBuffer.wrap(head);
            if (body == null || body.length == 0) {
                while (h.hasRemaining()) ch.write(h);
            } else {
                ByteBuffer[] bufs = {h, ByteBuffer.wrap(body)};
                while (bufs[1].hasRemaining()) ch.write(bufs);
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

        void close() {
            forget(this);
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /** A response body, framed by Content-Length, chunked encoding, or the end of the connection. */
    private final class Body extends InputStream {
        static final int FIXED = 0;
        static final int CHUNKED = 1;
        static final int TO_EOF = 2;

        final Conn c;
        final int mode;
        final boolean keepAlive;
        long remaining; // FIXED: bytes left; CHUNKED: bytes left in the current chunk
        boolean firstChunk = true;
        boolean done;
        boolean released;

        Body(Conn c, int mode, long length, boolean keepAlive) {
            this.c = c;
            this.mode = mode;
            this.remaining = length;
            this.keepAlive = keepAlive;
            if (mode == FIXED && length == 0) finish();
        }

        private void finish() {
            done = true;
            if (!released) {
                released = true;
                if (keepAlive && mode != TO_EOF) release(c);
                else c.close();
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n <= 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) return -1;
            if (len == 0) return 0;
            switch (mode) {
                case FIXED: {
                    int n = c.read(b, off, (int) Math.min(len, remaining));
                    if (n < 0) throw new EOFException("jvirtd closed the connection before the end of the answer");
                    remaining -= n;
                    if (remaining == 0) finish();
                    return n;
                }
                case CHUNKED: {
                    if (remaining == 0) {
                        if (!firstChunk) {
                            String crlf = c.readLine();
                            if (crlf == null || !crlf.isEmpty()) throw new IOException("bad chunked encoding");
                        }
                        firstChunk = false;
                        String size = c.readLine();
                        if (size == null) throw new EOFException("jvirtd closed the connection in a chunked answer");
                        int semi = size.indexOf(';');
                        if (semi >= 0) size = size.substring(0, semi);
                        try {
                            remaining = Long.parseLong(size.trim(), 16);
                        } catch (NumberFormatException e) {
                            throw new IOException("bad chunk size '" + size + "'", e);
                        }
                        if (remaining == 0) {
                            for (String t; (t = c.readLine()) != null && !t.isEmpty(); ) {
                                // trailers: ignored
                            }
                            finish();
                            return -1;
                        }
                    }
                    int n = c.read(b, off, (int) Math.min(len, remaining));
                    if (n < 0) throw new EOFException("jvirtd closed the connection in a chunked answer");
                    remaining -= n;
                    return n;
                }
                default: {
                    int n = c.read(b, off, len);
                    if (n < 0) {
                        finish();
                        return -1;
                    }
                    return n;
                }
            }
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                done = true;
                c.close(); // not fully read: the connection cannot be reused
            }
        }
    }

    /** An HTTP answer. Close it (try-with-resources); see {@link #exchange}. */
    public static final class Response implements Closeable {
        private final int status;
        private final Map<String, String> headers;
        private final InputStream body;

        Response(int status, Map<String, String> headers, InputStream body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        public int status() { return status; }

        /** A header value (name case-insensitive; repeated headers joined with ", "), or null. */
        public String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }

        /** The body; reads return as soon as some bytes arrived (incremental). */
        public InputStream body() { return body; }

        public byte[] readAllBytes() throws IOException {
            ByteArrayOutputStream bos = new ByteArrayOutputStream(1024);
            byte[] buf = new byte[8192];
            for (int n; (n = body.read(buf, 0, buf.length)) >= 0; ) bos.write(buf, 0, n);
            return bos.toByteArray();
        }

        @Override
        public void close() throws IOException { body.close(); }
    }

    /** Closes the watched connection when the time is up (blocked channel reads cannot time out otherwise). */
    private static final class Watchdog {
        final long millis;
        volatile boolean fired;
        volatile boolean cancelled;
        Thread thread;

        Watchdog(long millis) { this.millis = millis; }

        void watch(Conn c) {
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
