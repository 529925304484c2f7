package io.jvirt.admin;

import io.jvirt.tls.Identity;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The API's clients, one per connection: an id, the transport, who it is (a Unix peer's credentials, or a TLS
 * client's certificate identity), its role, since when it is connected and how many streams it holds open.
 * The transport side (the API server) registers a connection when it opens and unregisters it when it closes;
 * the admin API lists, describes and disconnects clients here. Knows nothing of Jetty: a client is closed through
 * the {@code closer} its transport gave.
 */
public final class ClientRegistry {
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Client> clients = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> perIdentity = new ConcurrentHashMap<>();

    /** How a client reached the daemon. */
    public enum Transport { unix, tcp, tls }

    /** One connected client. {@code peer} is set for Unix clients, {@code certificate} for TLS ones. */
    public static final class Client {
        private final long id;
        private final Transport transport;
        private final Instant since = Instant.now();
        private final PeerCredentials peer;
        private volatile Identity certificate;
        private volatile String remote;
        private final AtomicInteger streams = new AtomicInteger();
        private final Runnable closer;
        private volatile String identityKey;
        private volatile boolean readOnlySocket;

        Client(long id, Transport transport, PeerCredentials peer, String remote, Runnable closer) {
            this.id = id;
            this.transport = transport;
            this.peer = peer;
            this.remote = remote;
            this.closer = closer;
            this.identityKey = peer != null ? "uid:" + peer.uid() : transport + ":" + remote;
        }

        public long id() {
            return id;
        }

        public Transport transport() {
            return transport;
        }

        /** What the per-identity limit counts by: {@code uid:N} for Unix, {@code cert:SUBJECT} for TLS. */
        public String identityKey() {
            return identityKey;
        }

        /**
         * A TLS client's role from its certificate; a client of the read-only socket is read-only; one of the
         * read-write socket is read-write: whoever can open it (0660) has the whole API, as with libvirt's.
         */
        public String role() {
            if (readOnlySocket) {
                return "read-only";
            }
            Identity c = certificate;
            if (c != null && c.role() != null) {
                return c.role().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            }
            return c != null ? "none" : "read-write";
        }

        /** The verified client certificate of a TLS client, or null. */
        public Identity certificate() {
            return certificate;
        }

        /** A client of the read-only socket: GETs and the event stream only, whoever it is. */
        public void connectedReadOnly() {
            readOnlySocket = true;
        }

        public void streamOpened() {
            streams.incrementAndGet();
        }

        public void streamClosed() {
            streams.decrementAndGet();
        }

        public int streams() {
            return streams.get();
        }

        /** The short view ({@code jvirt admin clients}). */
        public Map<String, Object> summary() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("transport", transport.name());
            m.put("identity", describe());
            m.put("role", role());
            m.put("connectedSince", since.toString());
            m.put("streams", streams.get());
            return m;
        }

        /** Everything known ({@code jvirt admin client-info ID}); the pid is looked up now. */
        public Map<String, Object> details() {
            Map<String, Object> m = summary();
            if (peer != null) {
                m.put("uid", peer.uid());
                m.put("user", peer.user());
                m.put("gid", peer.gid());
                m.put("group", peer.group());
                long pid = peer.pidOf();
                m.put("pid", pid < 0 ? null : pid);
            }
            Identity c = certificate;
            if (c != null) {
                m.put("subject", c.subject());
                m.put("certificateName", c.name());
                m.put("fingerprint", c.fingerprint());
                m.put("notAfter", String.valueOf(c.notAfter()));
            }
            if (remote != null) {
                m.put("remote", remote);
            }
            return m;
        }

        private String describe() {
            Identity c = certificate;
            if (c != null) {
                return c.subject();
            }
            if (peer != null) {
                return "uid=" + peer.uid() + "(" + peer.user() + ") gid=" + peer.gid() + "(" + peer.group() + ")";
            }
            return remote == null ? "unknown" : remote;
        }
    }

    /** A connection opened: registers it and counts it for its identity. */
    public Client register(Transport transport, PeerCredentials peer, String remote, Runnable closer) {
        Client c = new Client(ids.incrementAndGet(), transport, peer, remote, closer);
        clients.put(c.id, c);
        perIdentity.computeIfAbsent(c.identityKey, k -> new AtomicInteger()).incrementAndGet();
        return c;
    }

    /**
     * TLS hook (issue 12): the TLS listener calls this once the handshake gave the client's certificate, so the
     * client is listed by its subject and role and counted per certificate instead of per address.
     */
    public void identified(Client c, Identity certificate) {
        String before = c.identityKey;
        c.certificate = certificate;
        c.identityKey = "cert:" + certificate.subject();
        perIdentity.computeIfPresent(before, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
        perIdentity.computeIfAbsent(c.identityKey, k -> new AtomicInteger()).incrementAndGet();
    }

    /** The connection closed. */
    public void unregister(Client c) {
        if (clients.remove(c.id) != null) {
            perIdentity.computeIfPresent(c.identityKey, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
        }
    }

    /** Open connections of this client's identity, itself included. */
    public int connectionsOf(Client c) {
        AtomicInteger n = perIdentity.get(c.identityKey);
        return n == null ? 0 : n.get();
    }

    public List<Client> list() {
        return clients.values().stream().sorted(Comparator.comparingLong(Client::id)).toList();
    }

    public Optional<Client> get(long id) {
        return Optional.ofNullable(clients.get(id));
    }

    public int count() {
        return clients.size();
    }

    /** Closes the client's connection (its streams end with it); false when there is no such client. */
    public boolean disconnect(long id) {
        Client c = clients.get(id);
        if (c == null) {
            return false;
        }
        c.closer.run();
        return true;
    }
}
