package io.jvirt.cli;

import java.io.IOException;
import java.nio.channels.ByteChannel;

/**
 * Where jvirtd listens and how to open one byte stream to it per HTTP connection. {@link SocketConnector} covers
 * Unix sockets and plain TCP. A TLS connector (issue 12: {@code --connect tls://HOST:PORT} with a client
 * certificate) plugs in here by handing out a {@link ByteChannel} over an SSLSocket's streams; the HTTP exchange,
 * pooling and timeouts above it ({@link HttpTransport}) do not change.
 */
interface Connector {
    /**
     * A new connected channel. Closing it from another thread must make a read blocked on it fail (the timeout
     * watchdog and {@link ApiClient#close()} rely on that).
     *
     * @throws DaemonUnreachableException when nobody answers at {@link #target()}
     */
    ByteChannel connect() throws IOException;

    /** The value of the HTTP {@code Host} header. */
    String authority();

    /** The socket path or URL, for messages. */
    String target();
}
