package io.jvirt.api;

import io.jvirt.files.SocketFiles;
import io.jvirt.tls.JettyTls;
import io.jvirt.tls.Pem;
import io.jvirt.tls.TlsDir;
import io.jvirt.tls.TlsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;

/**
 * The daemon's listeners: the read-write Unix socket (0660, group {@code --socket-group}), the read-only one
 * (0666), and the mutual-TLS listener. There is no plain TCP. Unix sockets are bound in a private staging
 * directory and renamed onto their path with their final mode ({@link SocketFiles}), so neither is ever briefly
 * reachable with the umask's mode. Each connector is named, and {@link AccessGuard} reads that name.
 */
final class ApiConnectors {
    static final String READ_WRITE = "rw";
    static final String READ_ONLY = "ro";
    static final String TLS = "tls";
    static final int READ_WRITE_MODE = 0660;
    static final int READ_ONLY_MODE = 0666;
    static final int DEFAULT_TLS_PORT = 16514;

    private final List<Staged> staged = new ArrayList<>();
    private ServerConnector tls;
    private Set<String> tlsHosts = Set.of();

    private record Staged(Path at, Path target, int mode, String group) {
    }

    /** Where the API is served: {@code roSocket}, {@code tls} and {@code socketGroup} may be null. */
    public record Endpoints(Path socket, Path roSocket, String socketGroup, TlsListen tls, Set<String> allowedOrigins) {
        public Endpoints {
            allowedOrigins = allowedOrigins == null ? Set.of() : Set.copyOf(allowedOrigins);
        }

        /** The read-write socket only (tests). */
        public static Endpoints socket(Path socket) {
            return new Endpoints(socket, null, null, null, Set.of());
        }
    }

    /** {@code --listen tls://ADDR[:PORT]} with {@code --tls-dir DIR}. */
    public record TlsListen(String host, int port, Path tlsDir) {
        /** Parses {@code tls://ADDR[:PORT]} (IPv6 in brackets); anything else is refused with what to write. */
        public static TlsListen parse(String listen, Path tlsDir) {
            String s = listen.strip();
            if (!s.regionMatches(true, 0, "tls://", 0, 6)) {
                throw new IllegalArgumentException("--listen takes tls://ADDR[:PORT] (mutual TLS with client "
                        + "certificates, default port " + DEFAULT_TLS_PORT + "); jvirtd serves no plain TCP, got '" + listen + "'");
            }
            String hp = s.substring(6);
            if (hp.endsWith("/")) {
                hp = hp.substring(0, hp.length() - 1);
            }
            String host;
            String port = null;
            if (hp.startsWith("[")) {
                int end = hp.indexOf(']');
                if (end < 0) {
                    throw new IllegalArgumentException("bad IPv6 address in --listen '" + listen + "'");
                }
                host = hp.substring(1, end);
                if (hp.length() > end + 1) {
                    if (hp.charAt(end + 1) != ':') {
                        throw new IllegalArgumentException("bad --listen '" + listen + "'");
                    }
                    port = hp.substring(end + 2);
                }
            } else {
                int colon = hp.lastIndexOf(':');
                host = colon < 0 ? hp : hp.substring(0, colon);
                port = colon < 0 ? null : hp.substring(colon + 1);
            }
            if (host.isEmpty() || host.contains("/")) {
                throw new IllegalArgumentException("--listen needs an address to listen on, e.g. tls://192.0.2.10:"
                        + DEFAULT_TLS_PORT + ", got '" + listen + "'");
            }
            int p = DEFAULT_TLS_PORT;
            if (port != null) {
                try {
                    p = Integer.parseInt(port);
                } catch (NumberFormatException e) {
                    p = -1;
                }
                if (p < 0 || p > 65535) {
                    throw new IllegalArgumentException("bad port in --listen '" + listen + "'");
                }
            }
            return new TlsListen(host, p, tlsDir);
        }
    }

    /** Adds the connectors to {@code server}; call {@link #publish()} once the server has started. */
    void add(Server server, Endpoints endpoints, HttpConfiguration http, ConnectionGuard guard, ClientTracker tracker)
            throws IOException {
        unix(server, endpoints.socket(), READ_WRITE, READ_WRITE_MODE, endpoints.socketGroup(), http, guard, tracker);
        if (endpoints.roSocket() != null) {
            unix(server, endpoints.roSocket(), READ_ONLY, READ_ONLY_MODE, null, http, guard, tracker);
        }
        TlsListen t = endpoints.tls();
        if (t != null) {
            TlsDir dir = new TlsDir(t.tlsDir());
            TlsServer tlsServer;
            try {
                tlsServer = TlsServer.load(dir);
            } catch (IOException e) {
                throw new IOException("cannot load the TLS files of --tls-dir " + t.tlsDir() + " (ca.pem, server.pem, "
                        + "server-key.pem; see 'jvirt pki'): " + e.getMessage(), e);
            }
            tls = JettyTls.connector(server, tlsServer, http, t.host(), t.port());
            tls.setName(TLS);
            tls.setIdleTimeout(300_000);
            tls.addBean(guard);
            tls.addBean(tracker);
            server.addConnector(tls);
            tlsHosts = hostNames(dir, t.host());
        }
    }

    private void unix(Server server, Path target, String name, int mode, String group, HttpConfiguration http,
            ConnectionGuard guard, ClientTracker tracker) throws IOException {
        prepareSocketPath(target);
        Path at = SocketFiles.stage(target);
        staged.add(new Staged(at, target, mode, group));
        UnixDomainServerConnector c = new UnixDomainServerConnector(server, 1, 1,
                new ConnectionFactory[] {new HttpConnectionFactory(http)});
        c.setName(name);
        c.setUnixDomainPath(at);
        c.setIdleTimeout(300_000);
        c.addBean(guard);
        c.addBean(tracker);
        server.addConnector(c);
    }

    /** Moves each bound socket onto its path with its mode and group. */
    void publish() throws IOException {
        for (Staged s : staged) {
            SocketFiles.publish(s.at(), s.target(), s.mode(), s.group());
        }
    }

    /** After a failed start: staging directories are removed. */
    void discard() {
        staged.forEach(s -> SocketFiles.discard(s.at()));
    }

    List<Path> socketPaths() {
        return staged.stream().map(Staged::target).toList();
    }

    Set<String> tlsHosts() {
        return tlsHosts;
    }

    /** The address the TLS listener actually bound, e.g. {@code 127.0.0.1:16514}, or null. */
    InetSocketAddress tlsAddress() {
        if (tls == null || tls.getLocalPort() <= 0) {
            return null;
        }
        return new InetSocketAddress(tls.getHost(), tls.getLocalPort());
    }

    /** {@code 127.0.0.1:16514}, {@code [::1]:16514}. */
    static String hostPort(InetSocketAddress a) {
        String h = a.getHostString();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    /** The names a TLS client may put in {@code Host}: the server certificate's SANs and the listen address. */
    private static Set<String> hostNames(TlsDir dir, String listenHost) throws IOException {
        Set<String> names = new LinkedHashSet<>();
        X509Certificate cert = Pem.readCertificate(dir.serverCert());
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    if (san.get(1) instanceof String v) {
                        names.add(normal(v));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new IOException("cannot read the names of " + dir.serverCert() + ": " + e.getMessage(), e);
        }
        try {
            InetAddress a = InetAddress.getByName(listenHost);
            if (!a.isAnyLocalAddress()) {
                names.add(normal(listenHost));
            }
        } catch (IOException e) {
            names.add(normal(listenHost));
        }
        return names;
    }

    static String normal(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.contains(":")) { // IPv6: one spelling
            try {
                h = InetAddress.getByName(h).getHostAddress();
            } catch (IOException ignored) {
                // keep as written
            }
        }
        return h;
    }

    /** A socket file left by a dead daemon is removed; one that still answers means another daemon is running. */
    static void prepareSocketPath(Path socket) throws IOException {
        Files.createDirectories(socket.toAbsolutePath().getParent());
        if (!Files.exists(socket)) {
            return;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            throw new IOException("another jvirtd is already listening on " + socket);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another jvirtd")) {
                throw e;
            }
            Files.deleteIfExists(socket);
        }
    }
}
