package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * The CLI's client of the jvirtd HTTP/JSON API (docs/api.md): JSON or raw requests, streamed answers (console),
 * Server-Sent Events, API error bodies as {@link ApiException}, an optional time limit per call.
 *
 * <p>Hand-written because the JDK {@code HttpClient} cannot use Unix sockets and because a one-shot command must
 * start fast. The pieces: {@link Connector} (where the daemon is, how to open a stream to it), {@link HttpTransport}
 * (HTTP/1.1 exchanges, connection reuse, timeouts), {@link HttpResponse} (framing, chunked decoding) and
 * {@link SseReader}; this class is their facade. Thread-safe; {@link #close()} also ends calls in progress.
 */
public final class ApiClient implements Closeable {
    /** Default socket of a system daemon. */
    public static final String DEFAULT_SOCKET = "/run/jvirt/jvirtd.sock";

    private final HttpTransport http;
    private volatile long timeoutMillis;

    ApiClient(Connector connector) {
        this.http = new HttpTransport(connector);
    }

    /** A client for the daemon listening on the Unix domain socket {@code socket}. */
    public static ApiClient unixSocket(Path socket) {
        return new ApiClient(SocketConnector.unix(socket));
    }

    /** A remote jvirtd over mutual TLS ({@code tls://HOST:PORT}), the client's files in {@code tlsDir}. */
    public static ApiClient tls(String url, Path tlsDir) {
        return new ApiClient(TlsConnector.parse(url, tlsDir));
    }

    /** The socket path or URL, for messages. */
    public String target() {
        return http.target();
    }

    /**
     * Limits every later non-streaming call ({@link #call}, {@link #callRaw}) to this many milliseconds overall;
     * 0 (the default) means no limit. A call that runs out fails with {@link SocketTimeoutException}.
     */
    public void setTimeoutMillis(long millis) {
        this.timeoutMillis = Math.max(0, millis);
    }

    public JsonNode get(String path) throws IOException, ApiException {
        return call("GET", path, null, null);
    }

    public JsonNode get(String path, Map<String, ?> query) throws IOException, ApiException {
        return call("GET", path, query, null);
    }

    public JsonNode post(String path, Map<String, ?> query, JsonNode body) throws IOException, ApiException {
        return call("POST", path, query, body);
    }

    public JsonNode delete(String path) throws IOException, ApiException {
        return call("DELETE", path, null, null);
    }

    public JsonNode delete(String path, Map<String, ?> query) throws IOException, ApiException {
        return call("DELETE", path, query, null);
    }

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
        HttpTransport.Watchdog dog = limit > 0 ? new HttpTransport.Watchdog(limit) : null;
        try (HttpResponse r = http.exchange(method, requestTarget(path, query), "application/json", body,
                contentType, dog)) {
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
        try (HttpResponse r = open(method, path, query, "*/*")) {
            byte[] buf = new byte[8192];
            InputStream in = r.body();
            for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) {
                if (n > 0) sink.accept(buf, 0, n);
            }
        }
    }

    /** Streams {@code GET path} as Server-Sent Events (e.g. {@code /v1/events}) until it ends or the listener stops. */
    public void events(String path, Map<String, ?> query, SseReader.Listener listener) throws IOException, ApiException {
        events(path, query, null, listener);
    }

    /** As {@link #events(String, Map, SseReader.Listener)}; {@code onOpen} (or null) runs once we are subscribed. */
    public void events(String path, Map<String, ?> query, Runnable onOpen, SseReader.Listener listener)
            throws IOException, ApiException {
        try (HttpResponse r = open("GET", path, query, "text/event-stream")) {
            if (onOpen != null) onOpen.run();
            SseReader.read(r.body(), listener);
        }
    }

    private HttpResponse open(String method, String path, Map<String, ?> query, String accept)
            throws IOException, ApiException {
        HttpResponse r = http.exchange(method, requestTarget(path, query), accept, null, null, null);
        if (r.status() / 100 != 2) {
            try (r) {
                throw toApiException(r.status(), r.readAllBytes());
            }
        }
        return r;
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

    private static String requestTarget(String path, Map<String, ?> query) {
        if (query == null || query.isEmpty()) return path;
        StringBuilder sb = new StringBuilder(path.length() + 32).append(path);
        char sep = '?';
        for (Map.Entry<String, ?> e : query.entrySet()) {
            if (e.getValue() == null) continue;
            sb.append(sep).append(segment(e.getKey())).append('=').append(segment(String.valueOf(e.getValue())));
            sep = '&';
        }
        return sb.toString();
    }

    /** Percent-encodes one path segment (e.g. a VM name); only RFC 3986 unreserved characters stay as they are. */
    public static String segment(String s) {
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

    /** Closes every connection, including those in use: blocked reads on them fail. */
    @Override
    public void close() {
        http.close();
    }
}
