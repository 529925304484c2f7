package io.jvirt.api;

import io.jvirt.admin.ClientRegistry;
import io.jvirt.admin.PeerCredentials;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;

/**
 * Feeds the admin API's {@link ClientRegistry} from the API listeners (a Jetty connection listener, beside
 * {@link ConnectionGuard}): a Unix connection is registered with its peer's credentials ({@code SO_PEERCRED}), a
 * TCP one with its address. TLS listeners (issue 12) register their connections the same way and then call
 * {@link ClientRegistry#identified} with the certificate's identity. A connection that opens beyond
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
        if (!(ep.getTransport() instanceof SocketChannel channel)) {
            return; // a connection layered on another one (TLS's decrypted side): its transport registered it
        }
        boolean unix = ep.getLocalSocketAddress() instanceof UnixDomainSocketAddress;
        PeerCredentials peer = unix ? PeerCredentials.of(channel).orElse(null) : null;
        String remote = unix ? null : String.valueOf(ep.getRemoteSocketAddress());
        ClientRegistry.Client client = registry.register(unix ? ClientRegistry.Transport.unix : ClientRegistry.Transport.tcp,
                peer, remote, ep::close);
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

    /** The client of a connection, or null (not tracked). */
    ClientRegistry.Client client(Connection c) {
        return clients.get(c);
    }

    /** Whether the connection opened beyond {@code max-clients-per-identity} for its user or certificate. */
    boolean overIdentityLimit(Connection c) {
        return overLimit.containsKey(c);
    }
}
