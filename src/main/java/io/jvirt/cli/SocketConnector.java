package io.jvirt.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/** jvirtd on a Unix domain socket or on plain TCP ({@code jvirtd --listen}), through {@link SocketChannel}s. */
final class SocketConnector implements Connector {
    private final SocketAddress address;
    private final ProtocolFamily family; // null: TCP
    private final String authority;
    private final String target;

    private SocketConnector(SocketAddress address, ProtocolFamily family, String authority, String target) {
        this.address = address;
        this.family = family;
        this.authority = authority;
        this.target = target;
    }

    static SocketConnector unix(Path socket) {
        return new SocketConnector(UnixDomainSocketAddress.of(socket), StandardProtocolFamily.UNIX, "localhost",
                socket.toString());
    }

    /** {@code http://HOST:PORT} (a trailing {@code /} is allowed; no path); IllegalArgumentException otherwise. */
    static SocketConnector url(String url) {
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
        return new SocketConnector(new InetSocketAddress(host, port), null, hostPort, "http://" + hostPort);
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

    @Override
    public ByteChannel connect() throws IOException {
        SocketChannel ch;
        try {
            ch = family == null ? SocketChannel.open() : SocketChannel.open(family);
        } catch (IOException e) {
            throw new IOException("cannot open a socket: " + e.getMessage(), e);
        }
        try {
            ch.connect(address);
            return ch;
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
            throw unreachable(e);
        }
    }

    private DaemonUnreachableException unreachable(Exception e) {
        String m = String.valueOf(e.getMessage());
        String lower = m.toLowerCase(Locale.ROOT);
        String why;
        if (e instanceof ConnectException || e instanceof NoSuchFileException || lower.contains("no such file")
                || lower.contains("refused")) {
            why = "is it running?";
        } else if (lower.contains("permission denied")) {
            why = "permission denied (is your user allowed to use the socket?)";
        } else {
            why = m;
        }
        return new DaemonUnreachableException("cannot reach jvirtd at " + target + ": " + why, e);
    }

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public String target() {
        return target;
    }
}
