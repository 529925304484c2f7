package io.jvirt.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/** jvirtd on a Unix domain socket, through {@link SocketChannel}s (remote: {@link TlsConnector}). */
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
