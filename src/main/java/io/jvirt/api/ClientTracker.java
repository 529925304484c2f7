package io.jvirt.api;

import io.jvirt.admin.ClientRegistry;
import io.jvirt.admin.PeerCredentials;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.Request;

/**
 * Feeds the admin API's {@link ClientRegistry} from the API listeners (a Jetty connection listener, beside
 * {@link ConnectionGuard}): a Unix connection is registered with its peer's credentials ({@code SO_PEERCRED}), a
 * TLS one with its address, and named by its client certificate at its first request ({@link #identify}), once
 * the handshake has verified it. A connection that opens beyond
 * {@code max-clients-per-identity} for its user is marked; {@link ClientGate} answers its request 503.
 */
final class ClientTracker implements Connection.Listener {
    private final ClientRegistry registry;
    private final ClientLimits limits;
    private final Map<Connection, ClientRegistry.Client> clients = new ConcurrentHashMap<>();
    private final Map<Connection, Boolean> overLimit = new ConcurrentHashMap<>();

    ClientTracker(ClientRegistry registry, ClientLimits limits) {
        this.registry = registry;
        this.limits = limits;
    }

    ClientRegistry registry() {
        return registry;
    }

    @Override
    public void onOpened(Connection c) {
        EndPoint ep = c.getEndPoint();
        if (ep instanceof SslConnection.SslEndPoint || !(ep.getTransport() instanceof SocketChannel channel)) {
            return; // a connection layered on another one (TLS's decrypted side): its transport registered it
        }
        boolean unix = ep.getLocalSocketAddress() instanceof UnixDomainSocketAddress;
        PeerCredentials peer = unix ? PeerCredentials.of(channel).orElse(null) : null;
        String remote = unix ? null : String.valueOf(ep.getRemoteSocketAddress());
        ClientRegistry.Transport transport = unix ? ClientRegistry.Transport.unix
                : c instanceof SslConnection ? ClientRegistry.Transport.tls : ClientRegistry.Transport.tcp;
        ClientRegistry.Client client = registry.register(transport, peer, remote, ep::close);
        if (c instanceof org.eclipse.jetty.server.ConnectionMetaData md && md.getConnector() != null
                && ApiConnectors.READ_ONLY.equals(md.getConnector().getName())) {
            client.connectedReadOnly();
        }
        clients.put(c, client);
        if (registry.connectionsOf(client) > limits.maxClientsPerIdentity()) {
            overLimit.put(c, Boolean.TRUE);
        }
    }

    @Override
    public void onClosed(Connection c) {
        overLimit.remove(c);
        ClientRegistry.Client client = clients.remove(c);
        if (client != null) {
            registry.unregister(client);
        }
    }

    /** The client of a connection (for TLS, of the socket under the HTTP connection), or null (not tracked). */
    ClientRegistry.Client client(Connection c) {
        return clients.get(transportOf(c));
    }

    /**
     * A TLS client is named by its verified certificate at its first request: the registry then counts it per
     * certificate, and a connection beyond {@code max-clients-per-identity} for that certificate is marked.
     */
    void identify(Connection c, Request request) {
        Connection transport = transportOf(c);
        ClientRegistry.Client client = clients.get(transport);
        if (client == null || client.certificate() != null) {
            return;
        }
        io.jvirt.tls.JettyTls.identity(request).ifPresent(id -> {
            registry.identified(client, id);
            if (registry.connectionsOf(client) > limits.maxClientsPerIdentity()) {
                overLimit.put(transport, Boolean.TRUE);
            }
        });
    }

    /** Whether the connection opened beyond {@code max-clients-per-identity} for its user or certificate. */
    boolean overIdentityLimit(Connection c) {
        return overLimit.containsKey(transportOf(c));
    }

    /** The HTTP connection of a TLS socket sits on the decrypted end point; the socket's is its SslConnection. */
    private static Connection transportOf(Connection c) {
        return c.getEndPoint() instanceof SslConnection.SslEndPoint ssl ? ssl.getSslConnection() : c;
    }
}
