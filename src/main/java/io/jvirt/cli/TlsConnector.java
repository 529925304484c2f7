package io.jvirt.cli;

import io.jvirt.tls.TlsClient;
import io.jvirt.tls.TlsDir;
import io.jvirt.tls.TlsFailure;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLSocket;

/**
 * jvirtd's mutual-TLS listener ({@code --connect tls://HOST:PORT}): the CLI's client certificate from
 * {@code --tls-dir} / {@code $JVIRT_TLS_DIR} (default {@code ~/.config/jvirt/tls}), loaded once per process. A
 * refusal (no certificate, another CA, expired, not allowed) is explained by {@link TlsClient}; under TLS 1.3 the
 * server's verdict on our certificate arrives with the first read, so a connection's first read is explained too.
 */
final class TlsConnector implements Connector {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private final String host;
    private final int port;
    private final Path tlsDir;
    private TlsClient client;

    private TlsConnector(String host, int port, Path tlsDir) {
        this.host = host;
        this.port = port;
        this.tlsDir = tlsDir;
    }

    /** {@code tls://HOST[:PORT]} (default port 16514, IPv6 in brackets); IllegalArgumentException otherwise. */
    static TlsConnector parse(String url, Path tlsDir) {
        String u = url.strip();
        if (!u.regionMatches(true, 0, "tls://", 0, 6)) {
            throw new IllegalArgumentException("--connect takes tls://HOST[:PORT] (jvirtd --listen tls://...), got '"
                    + url + "'; a local jvirtd is reached with --socket");
        }
        String hp = u.substring(6);
        if (hp.endsWith("/")) hp = hp.substring(0, hp.length() - 1);
        String h;
        String p = null;
        if (hp.startsWith("[")) {
            int end = hp.indexOf(']');
            if (end < 0) throw new IllegalArgumentException("bad IPv6 address in '" + url + "'");
            h = hp.substring(1, end);
            if (hp.length() > end + 1 && hp.charAt(end + 1) == ':') p = hp.substring(end + 2);
        } else {
            int colon = hp.lastIndexOf(':');
            h = colon < 0 ? hp : hp.substring(0, colon);
            p = colon < 0 ? null : hp.substring(colon + 1);
        }
        if (h.isEmpty() || h.contains("/")) throw new IllegalArgumentException("--connect needs tls://HOST[:PORT], got '" + url + "'");
        int port = 16514;
        if (p != null) {
            try {
                port = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port <= 0 || port > 65535) throw new IllegalArgumentException("bad port in '" + url + "'");
        }
        return new TlsConnector(h, port, tlsDir);
    }

    private synchronized TlsClient client() throws IOException {
        if (client == null) {
            client = TlsClient.load(tlsDir != null ? new TlsDir(tlsDir) : TlsDir.forClient());
        }
        return client;
    }

    @Override
    public ByteChannel connect() throws IOException {
        TlsClient c = client();
        SSLSocket s;
        try {
            s = c.connect(host, port, CONNECT_TIMEOUT);
        } catch (ConnectException | UnknownHostException | java.net.NoRouteToHostException e) {
            throw new DaemonUnreachableException("cannot reach jvirtd at " + target() + ": "
                    + (e instanceof ConnectException ? "is it running with --listen?" : e.getMessage()), e);
        }
        s.setSoTimeout(0); // the transport's watchdog bounds calls; event streams stay open
        return new SslChannel(s, c, target());
    }

    @Override
    public String authority() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public String target() {
        return "tls://" + authority();
    }

    /** An SSLSocket as a channel; closing it from another thread makes a blocked read fail. */
    private static final class SslChannel implements ByteChannel {
        private final SSLSocket socket;
        private final InputStream in;
        private final OutputStream out;
        private final TlsClient client;
        private final String peer;
        private boolean answered;
        private volatile boolean closedHere;

        SslChannel(SSLSocket socket, TlsClient client, String peer) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
            this.client = client;
            this.peer = peer;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            try {
                int n;
                if (dst.hasArray()) {
                    n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                    if (n > 0) dst.position(dst.position() + n);
                } else {
                    byte[] b = new byte[dst.remaining()];
                    n = in.read(b);
                    if (n > 0) dst.put(b, 0, n);
                }
                if (n > 0) answered = true;
                return n;
            } catch (IOException e) {
                throw explain(e);
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            try {
                if (src.hasArray()) {
                    out.write(src.array(), src.arrayOffset() + src.position(), n);
                    src.position(src.limit());
                } else {
                    byte[] b = new byte[n];
                    src.get(b);
                    out.write(b);
                }
                out.flush();
            } catch (IOException e) {
                throw explain(e);
            }
            return n;
        }

        /** Before the server's first answer, a broken connection is its verdict on our certificate. */
        private IOException explain(IOException e) {
            // (the JDK closes the socket itself on a fatal alert: only our own close is not a verdict)
            if (answered || closedHere || e instanceof java.net.SocketTimeoutException) return e;
            TlsFailure f = client.explain(e, peer);
            return f.reason() == TlsFailure.Reason.OTHER ? e : f;
        }

        @Override
        public boolean isOpen() {
            return !socket.isClosed();
        }

        @Override
        public void close() throws IOException {
            closedHere = true;
            socket.close();
        }
    }
}
