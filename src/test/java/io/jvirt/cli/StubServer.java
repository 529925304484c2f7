package io.jvirt.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny HTTP/1.1 server on a Unix domain socket (or TCP) for CLI tests: canned answers per "METHOD /path",
 * every request recorded, keep-alive, one thread per connection.
 */
final class StubServer implements AutoCloseable {
    record Request(String method, String target, Map<String, String> headers, byte[] body) {
        String path() {
            int q = target.indexOf('?');
            return q < 0 ? target : target.substring(0, q);
        }

        String query() {
            int q = target.indexOf('?');
            return q < 0 ? "" : target.substring(q + 1);
        }

        String bodyText() { return new String(body, StandardCharsets.UTF_8); }

        String header(String name) { return headers.get(name.toLowerCase(Locale.ROOT)); }

        @Override
        public String toString() { return method + " " + target; }
    }

    /** Writes one answer; the connection is kept open afterwards unless the handler says otherwise. */
    interface Handler {
        void handle(Request req, Exchange ex) throws Exception;
    }

    static final class Exchange {
        final OutputStream out;
        boolean close;

        Exchange(OutputStream out) { this.out = out; }

        void respond(int status, String contentType, byte[] body) throws IOException {
            String head = "HTTP/1.1 " + status + " X\r\n"
                    + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                    + "Content-Length: " + body.length + "\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
        }

        void json(int status, String json) throws IOException {
            respond(status, "application/json", json.getBytes(StandardCharsets.UTF_8));
        }

        void error(int status, String code, String message) throws IOException {
            json(status, "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message + "\",\"details\":{}}}");
        }

        void startChunked(int status, String contentType) throws IOException {
            out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: " + contentType
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        void chunk(String data) throws IOException {
            byte[] b = data.getBytes(StandardCharsets.UTF_8);
            out.write((Integer.toHexString(b.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(b);
            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        void endChunked() throws IOException {
            out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
    }

    final Path dir;
    final Path socket;
    private final ServerSocketChannel server;
    private final Map<String, Handler> routes = new ConcurrentHashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    private final List<SocketChannel> clients = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    /** A server on {@code <tempdir>/jvirtd.sock}. */
    static StubServer unix() throws IOException {
        Path dir = Files.createTempDirectory("jvirt-cli-test");
        Path sock = dir.resolve("jvirtd.sock");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(sock));
        return new StubServer(dir, sock, ch);
    }

    /** A server on 127.0.0.1 and a free port. */
    static StubServer tcp() throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        ch.bind(new InetSocketAddress("127.0.0.1", 0));
        return new StubServer(null, null, ch);
    }

    private StubServer(Path dir, Path socket, ServerSocketChannel server) {
        this.dir = dir;
        this.socket = socket;
        this.server = server;
        acceptor = new Thread(this::acceptLoop, "stub-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() throws IOException { return ((InetSocketAddress) server.getLocalAddress()).getPort(); }

    StubServer on(String method, String path, Handler h) {
        routes.put(method + " " + path, h);
        return this;
    }

    StubServer json(String method, String path, int status, String json) {
        return on(method, path, (req, ex) -> ex.json(status, json));
    }

    Request last() { return requests.get(requests.size() - 1); }

    /** Waits until {@code n} requests were seen. */
    void awaitRequests(int n, long millis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (requests.size() < n && System.nanoTime() < end) Thread.sleep(5);
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel c = server.accept();
                connections.incrementAndGet();
                clients.add(c);
                Thread t = new Thread(() -> serve(c), "stub-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            InputStream in = Channels.newInputStream(c);
            OutputStream out = Channels.newOutputStream(c);
            while (true) {
                String line = readLine(in);
                if (line == null) return;
                String[] parts = line.split(" ");
                Map<String, String> headers = new LinkedHashMap<>();
                for (String h; !(h = readLine(in)).isEmpty(); ) {
                    int colon = h.indexOf(':');
                    headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
                }
                int len = Integer.parseInt(headers.getOrDefault("content-length", "0"));
                byte[] body = in.readNBytes(len);
                Request req = new Request(parts[0], parts[1], headers, body);
                requests.add(req);
                Handler h = routes.get(req.method() + " " + req.path());
                Exchange ex = new Exchange(out);
                if (h == null) {
                    ex.error(404, "not-found", "no route " + req.method() + " " + req.path());
                } else {
                    h.handle(req, ex);
                }
                if (ex.close) return;
            }
        } catch (Exception e) {
            // client went away
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel c : clients) c.close();
        if (dir != null) {
            try (var s = Files.walk(dir)) {
                List<Path> all = new ArrayList<>(s.toList());
                java.util.Collections.reverse(all);
                for (Path p : all) Files.deleteIfExists(p);
            }
        }
    }
}
