package io.jvirt.tls;

import java.security.cert.X509Certificate;
import java.util.Optional;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Jetty 12 on top of a {@link TlsServer}: the SSLContext and its rules (TLS 1.3 only, client certificate
 * required) handed to Jetty unchanged, and the client's {@link Identity} read back from a request. Jetty's own
 * keystore loading is not used, so the daemon and the daemon-to-daemon channel verify exactly alike. Kept apart
 * from the rest of the package so the CLI, which never serves, never loads Jetty's server classes.
 */
public final class JettyTls {
    private JettyTls() {
    }

    /** An {@link SslContextFactory.Server} that uses the TLS server's context and demands a client certificate. */
    public static SslContextFactory.Server contextFactory(TlsServer tls) {
        SslContextFactory.Server f = new SslContextFactory.Server();
        f.setSslContext(tls.context());
        f.setIncludeProtocols(TlsContexts.PROTOCOL);
        f.setNeedClientAuth(true);
        // a server does not check its clients' host names; their certificates name people and hosts, not addresses
        f.setEndpointIdentificationAlgorithm(null);
        return f;
    }

    /**
     * A TLS connector on {@code host:port} (port 0: any free port). {@code http} gets a
     * {@link SecureRequestCustomizer}, which puts the verified client certificates on every request (the Host
     * check is the caller's: jvirtd's AccessGuard answers 421).
     */
    public static ServerConnector connector(Server server, TlsServer tls, HttpConfiguration http, String host, int port) {
        HttpConfiguration https = new HttpConfiguration(http);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // the daemon checks Host against every name of its certificate itself and answers 421 with a reason
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        ServerConnector c = new ServerConnector(server, 1, 1,
                new SslConnectionFactory(contextFactory(tls), "http/1.1"), new HttpConnectionFactory(https));
        c.setHost(host);
        c.setPort(port);
        return c;
    }

    /** The identity of the client of a request that came over a TLS connector; empty for the Unix sockets. */
    public static Optional<Identity> identity(Request request) {
        if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData data) {
            X509Certificate[] certs = data.peerCertificates();
            if (certs != null && certs.length > 0) {
                return Optional.of(Identity.of(certs[0]));
            }
        }
        return Optional.empty();
    }
}
