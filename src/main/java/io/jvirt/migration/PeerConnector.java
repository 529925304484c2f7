package io.jvirt.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.tls.Identity;
import io.jvirt.tls.Role;
import io.jvirt.tls.TlsClient;
import io.jvirt.tls.TlsDir;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLSocket;

/**
 * Opens the peer channel to a destination named {@code tls://HOST:PORT}: mutual TLS with this host's certificate
 * ({@link TlsClient#loadHost}), the destination's certificate must chain to our CA, name the host and carry the
 * role {@code host} (a client certificate, or another CA's, is not a migration peer).
 */
public final class PeerConnector {
    private final TlsDir tlsDir;
    private final ObjectMapper mapper;
    private final Duration bound;

    public PeerConnector(TlsDir tlsDir, ObjectMapper mapper, Duration bound) {
        this.tlsDir = tlsDir;
        this.mapper = mapper;
        this.bound = bound;
    }

    public TlsDir tlsDir() {
        return tlsDir;
    }

    public ObjectMapper mapper() {
        return mapper;
    }

    public Duration bound() {
        return bound;
    }

    /** Parses {@code tls://HOST:PORT}; anything else is refused before anything is done. */
    public static URI parse(String destination) {
        URI u;
        try {
            u = URI.create(destination == null ? "" : destination);
        } catch (IllegalArgumentException e) {
            u = null;
        }
        if (u == null || !"tls".equals(u.getScheme()) || u.getHost() == null || u.getPort() <= 0
                || (u.getPath() != null && !u.getPath().isEmpty())) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "a migration's destination is tls://HOST:PORT (its"
                    + " jvirtd's TLS listener), got '" + destination + "'", Map.of("destination", String.valueOf(destination)));
        }
        return u;
    }

    public PeerChannel connect(URI dest) {
        String peer = dest.getHost() + ":" + dest.getPort();
        if (tlsDir == null) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "this jvirtd has no TLS directory (--tls-dir): it cannot"
                    + " reach a migration peer", Map.of("peer", peer));
        }
        try {
            long t0 = System.nanoTime();
            TlsClient tls = TlsClient.loadHost(tlsDir);
            long t1 = System.nanoTime();
            SSLSocket s = tls.connect(dest.getHost(), dest.getPort(), Duration.ofSeconds(10));
            org.slf4j.LoggerFactory.getLogger(PeerConnector.class).info("peer {}: credentials loaded in {} ms, connected"
                    + " (TCP + TLS handshake) in {} ms", peer, (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
            Identity id = Identity.of((java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0]);
            if (id.role() != Role.HOST) {
                s.close();
                throw new JvirtException(ErrorCode.PEER_UNREACHABLE, "the destination " + peer + " presented a"
                        + " certificate without the role 'host' (" + id + "): not a jvirtd migration peer", Map.of("peer", peer));
            }
            s.setTcpNoDelay(true);
            return new PeerChannel(s, peer, mapper, bound);
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.PEER_UNREACHABLE, "cannot reach the destination " + peer + ": "
                    + e.getMessage(), Map.of("peer", peer), e);
        }
    }
}
