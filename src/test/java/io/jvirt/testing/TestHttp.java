package io.jvirt.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately plain HTTP/1.1 client for tests (one connection per request, Connection: close), so API tests
 * check the daemon's wire behaviour independently of the CLI's own client.
 */
public final class TestHttp {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path socket;

    public TestHttp(Path socket) {
        this.socket = socket;
    }

    public record Response(int status, Map<String, String> headers, byte[] body) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + text(), e);
            }
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public String errorCode() {
            return json().path("error").path("code").asText();
        }

        @Override
        public String toString() {
            return status + " " + text();
        }
    }

    public Response get(String path) {
        return send("GET", path, null, null);
    }

    public Response post(String path) {
        return send("POST", path, null, null);
    }

    public Response post(String path, Object json) {
        try {
            byte[] body = json instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : JSON.writeValueAsBytes(json);
            return send("POST", path, body, "application/json");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    public Response postBytes(String path, byte[] body) {
        return send("POST", path, body, "application/octet-stream");
    }

    public Response delete(String path) {
        return send("DELETE", path, null, null);
    }

    public Response send(String method, String path, byte[] body, String contentType) {
        try (Stream s = open(method, path, body, contentType)) {
            return new Response(s.status, s.headers, s.body.readAllBytes());
        } catch (IOException e) {
            throw new AssertionError(method + " " + path + " failed: " + e, e);
        }
    }

    /** A response whose body is read as it arrives (console follow, events). */
    public static final class Stream implements AutoCloseable {
        public final int status;
        public final Map<String, String> headers;
        public final InputStream body;
        private final SocketChannel channel;

        Stream(int status, Map<String, String> headers, InputStream body, SocketChannel channel) {
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.channel = channel;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    public Stream open(String method, String path, byte[] body, String contentType) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        OutputStream out = Channels.newOutputStream(ch);
        StringBuilder req = new StringBuilder();
        req.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: jvirt\r\nConnection: close\r\n");
        if (body != null) {
            req.append("Content-Type: ").append(contentType).append("\r\nContent-Length: ").append(body.length).append("\r\n");
        } else if (!method.equals("GET")) {
            req.append("Content-Length: 0\r\n");
        }
        req.append("\r\n");
        // one write: a server that refuses on the headers may close before a second write arrives
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(req.toString().getBytes(StandardCharsets.US_ASCII));
        if (body != null) {
            all.write(body);
        }
        out.write(all.toByteArray());
        out.flush();
        return read(ch);
    }

    /** Sends {@code request} as given (a whole HTTP request, headers chosen by the test) and reads the answer. */
    public Response raw(byte[] request) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        OutputStream out = Channels.newOutputStream(ch);
        out.write(request);
        out.flush();
        try (Stream s = read(ch)) {
            return new Response(s.status, s.headers, s.body.readAllBytes());
        }
    }

    private static Stream read(SocketChannel ch) throws IOException {
        InputStream in = new java.io.BufferedInputStream(Channels.newInputStream(ch));
        String statusLine = line(in);
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            int c = h.indexOf(':');
            headers.put(h.substring(0, c).trim().toLowerCase(Locale.ROOT), h.substring(c + 1).trim());
        }
        InputStream bodyIn;
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            bodyIn = new Chunked(in);
        } else if (headers.containsKey("content-length")) {
            bodyIn = new java.io.ByteArrayInputStream(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else {
            bodyIn = in;
        }
        return new Stream(status, headers, bodyIn, ch);
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                b.write(c);
            }
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    private static final class Chunked extends InputStream {
        private final InputStream in;
        private int left;
        private boolean end;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (end) {
                return -1;
            }
            if (left == 0) {
                String size = line(in);
                if (size.isEmpty()) {
                    size = line(in);
                }
                int semi = size.indexOf(';');
                left = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (left == 0) {
                    end = true;
                    return -1;
                }
            }
            int n = in.read(b, off, Math.min(len, left));
            if (n < 0) {
                end = true;
                return -1;
            }
            left -= n;
            return n;
        }
    }
}
