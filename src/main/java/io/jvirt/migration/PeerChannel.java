package io.jvirt.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one connection from a migration's source daemon to its destination daemon: HTTP/1.1 requests, one after
 * another, on a single mutually authenticated TLS socket (never reconnected: a broken connection is a lost peer,
 * not something to hide; past a post-copy's switch {@link PostcopySource} opens a new channel instead). A heartbeat keeps it honest while a migration runs: a reset shows at the next heartbeat,
 * a silent peer when a read waits longer than the bound; either completes {@link #lost()} with the reason.
 */
public final class PeerChannel implements AutoCloseable {
    private final Socket socket;
    private final String peer;
    private final ObjectMapper mapper;
    private final Duration bound;
    private final InputStream in;
    private final OutputStream out;
    private final ReentrantLock lock = new ReentrantLock();
    private final CompletableFuture<String> lost = new CompletableFuture<>();
    private volatile Thread heartbeat;

    PeerChannel(Socket socket, String peer, ObjectMapper mapper, Duration bound) throws IOException {
        this.socket = socket;
        this.peer = peer;
        this.mapper = mapper;
        this.bound = bound;
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** host:port of the destination daemon. */
    public String peer() {
        return peer;
    }

    /** The address this host's side of the connection has (what the destination sees as the source). */
    public String localAddress() {
        return socket.getLocalAddress().getHostAddress();
    }

    public String remoteAddress() {
        return socket.getInetAddress().getHostAddress();
    }

    /** Completes with why the peer is gone (reset, silence, an error); never completes while it answers. */
    public CompletableFuture<String> lost() {
        return lost;
    }

    public Duration bound() {
        return bound;
    }

    /**
     * One request; {@code timeout} bounds the wait for the answer (a peer that does not answer in time is lost).
     * An error answer is thrown as the peer's own {@link JvirtException} (its code and message, details + peer).
     */
    public JsonNode call(String method, String path, Object body, Duration timeout) {
        if (lost.isDone()) {
            throw notSent();
        }
        lock.lock();
        try {
            if (lost.isDone()) {
                throw notSent(); // lost while the heartbeat held the socket: nothing of ours went out
            }
            byte[] payload = body == null ? new byte[0] : mapper.writeValueAsBytes(body);
            String head = method + " " + path + " HTTP/1.1\r\nHost: " + peer + "\r\nUser-Agent: jvirtd-peer\r\n"
                    + "Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: " + payload.length + "\r\n\r\n";
            socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(payload);
            out.flush();
            int status = readResponse();
            JsonNode json = lastBody.length == 0 ? mapper.createObjectNode() : mapper.readTree(lastBody);
            if (status >= 400) {
                JsonNode e = json.path("error");
                ErrorCode code = ErrorCode.fromWire(e.path("code").asText("internal"));
                throw new JvirtException(code == null ? ErrorCode.INTERNAL : code, "destination " + peer + ": "
                        + e.path("message").asText("HTTP " + status), Map.of("peer", peer));
            }
            return json;
        } catch (SocketTimeoutException e) {
            throw lose("no answer within " + timeout.toMillis() + " ms (peer silent)");
        } catch (IOException e) {
            throw lose("connection broken: " + e.getMessage());
        } finally {
            lock.unlock();
        }
    }

    /** The channel was lost before this request: not a byte of it reached the peer. */
    private JvirtException notSent() {
        return new JvirtException(ErrorCode.PEER_LOST, "the destination " + peer + " is lost: " + lost.getNow(""),
                Map.of("peer", peer, "sent", false));
    }

    /**
     * Whether {@code e} says its request never left (the channel was lost before it), so the peer cannot have acted
     * on it; any other failure may come after the peer got the request.
     */
    public static boolean neverSent(RuntimeException e) {
        return e instanceof JvirtException je && Boolean.FALSE.equals(je.details().get("sent"));
    }

    private JvirtException lose(String why) {
        lost.complete(why);
        close();
        return new JvirtException(ErrorCode.PEER_LOST, "lost the destination " + peer + ": " + why, Map.of("peer", peer));
    }

    /**
     * Pings {@code path} every bound/5 until closed; a ping that fails or waits longer than the bound completes
     * {@link #lost()}. A ping is skipped while another request is on the wire (that request proves the peer alive
     * or fails by itself).
     */
    public void startHeartbeat(String path) {
        long every = Math.max(100, bound.toMillis() / 5);
        heartbeat = Thread.ofVirtual().name("peer-heartbeat-" + peer).start(() -> {
            while (!lost.isDone() && !socket.isClosed()) {
                try {
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                }
                if (lock.tryLock()) {
                    lock.unlock();
                    try {
                        call("POST", path, null, bound.minusMillis(every)); // a silent peer is lost within the bound
                    } catch (JvirtException e) {
                        if (e.code() != ErrorCode.PEER_LOST) {
                            lost.complete("the destination refused the heartbeat: " + e.getMessage());
                        }
                        return;
                    }
                }
            }
        });
    }

    public void stopHeartbeat() {
        Thread t = heartbeat;
        heartbeat = null;
        if (t != null) {
            t.interrupt(); // a virtual thread sleeping between pings; it never holds the socket while asleep
        }
    }

    @Override
    public void close() {
        stopHeartbeat();
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    // ---- a small HTTP/1.1 response reader (Content-Length or chunked) -------------------------------------------

    private byte[] lastBody = new byte[0];

    private int readResponse() throws IOException {
        String statusLine = line();
        if (!statusLine.startsWith("HTTP/1.1 ")) {
            throw new IOException("not an HTTP answer: " + statusLine);
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        for (String h = line(); !h.isEmpty(); h = line()) {
            int colon = h.indexOf(':');
            String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> close = value.equalsIgnoreCase("close");
                default -> { }
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            for (long n = Long.parseLong(line().split(";")[0].trim(), 16); n > 0; n = Long.parseLong(line().split(";")[0].trim(), 16)) {
                body.write(in.readNBytes((int) n));
                line();
            }
            for (String t = line(); !t.isEmpty(); t = line()) {
                // trailers
            }
        } else if (length > 0) {
            if (length > (1 << 22)) {
                throw new IOException("answer too large: " + length + " bytes");
            }
            body.write(in.readNBytes((int) length));
        }
        lastBody = body.toByteArray();
        if (close) {
            lost.complete("the destination closed the connection");
        }
        return status;
    }

    private String line() throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); ; c = in.read()) {
            if (c < 0) {
                throw new java.io.EOFException("the destination closed the connection");
            }
            if (c == '\n') {
                int len = b.length();
                return len > 0 && b.charAt(len - 1) == '\r' ? b.substring(0, len - 1) : b.toString();
            }
            if (b.length() > 8192) {
                throw new IOException("header line too long");
            }
            b.append((char) c);
        }
    }
}
