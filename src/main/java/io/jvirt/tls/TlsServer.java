package io.jvirt.tls;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The daemon's side of mutual TLS: TLS 1.3 only, a client certificate is <em>required</em> (no certificate, no
 * connection), it must chain to the jvirt CA, be valid now, allow clientAuth, carry exactly one jvirt
 * {@link Role} and not be listed in {@code DIR/revoked}. All of that is decided in the handshake, so a refused
 * client never reaches HTTP; what a verified client may do is then read from {@link #identify}.
 */
public final class TlsServer {
    private final TlsDir dir;
    private final SSLContext context;
    private final Set<String> revoked;

    private TlsServer(TlsDir dir, SSLContext context, Set<String> revoked) {
        this.dir = dir;
        this.context = context;
        this.revoked = revoked;
    }

    /** Loads {@code ca.pem}, {@code server.pem}, {@code server-key.pem} and the optional {@code revoked} list. */
    public static TlsServer load(TlsDir dir) throws IOException {
        List<X509Certificate> anchors = TlsContexts.anchors(dir);
        Set<String> revoked = new HashSet<>();
        if (Files.exists(dir.revoked())) {
            for (String line : Files.readAllLines(dir.revoked())) {
                String f = line.strip().replace(":", "").toLowerCase(Locale.ROOT);
                if (!f.isEmpty() && !f.startsWith("#")) {
                    revoked.add(f);
                }
            }
        }
        X509TrustManager pkix = TlsContexts.pkix(anchors);
        SSLContext ctx = TlsContexts.context(TlsContexts.keyManagers(dir.serverCert(), dir.serverKey(), anchors),
                new RoleCheck(pkix, Set.copyOf(revoked)));
        return new TlsServer(dir, ctx, Set.copyOf(revoked));
    }

    public TlsDir dir() {
        return dir;
    }

    public SSLContext context() {
        return context;
    }

    /** TLS 1.3 only, client certificate required. Apply to every server socket or engine. */
    public SSLParameters parameters() {
        SSLParameters p = TlsContexts.parameters(context);
        p.setNeedClientAuth(true);
        return p;
    }

    /** A listening socket with {@link #parameters()} applied (for tests and the daemon-to-daemon channel). */
    public SSLServerSocket listen(InetSocketAddress address) throws IOException {
        SSLServerSocket s = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        s.setSSLParameters(parameters());
        s.bind(address);
        return s;
    }

    /** The verified identity of the peer of a completed handshake. */
    public static Identity identify(SSLSession session) throws SSLPeerUnverifiedException {
        return Identity.of((X509Certificate) session.getPeerCertificates()[0]);
    }

    /** Whether a fingerprint (lower-case hex SHA-256) is on the revoked list. */
    public boolean isRevoked(String fingerprint) {
        return revoked.contains(fingerprint);
    }

    /**
     * PKIX as the JDK does it (chain, validity, clientAuth EKU, algorithm constraints), then jvirt's own rules: a
     * role in the subject and not revoked. Extended, so the JDK does not wrap it in its own adapter.
     */
    private static final class RoleCheck extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager pkix;
        private final Set<String> revoked;

        RoleCheck(X509TrustManager pkix, Set<String> revoked) {
            this.pkix = (X509ExtendedTrustManager) pkix;
            this.revoked = revoked;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            pkix.checkClientTrusted(chain, authType, socket);
            checkJvirt(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            pkix.checkClientTrusted(chain, authType, engine);
            checkJvirt(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pkix.checkClientTrusted(chain, authType);
            checkJvirt(chain);
        }

        private void checkJvirt(X509Certificate[] chain) throws CertificateException {
            Identity id = Identity.of(chain[0]);
            if (id.role() == null) {
                throw new CertificateException("certificate " + id.subject() + " carries no jvirt role (OU="
                        + Role.READ_ONLY.organizationalUnit() + " or " + Role.READ_WRITE.organizationalUnit() + ")");
            }
            if (revoked.contains(id.fingerprint())) {
                throw new CertificateException("certificate " + id.describe() + " is revoked");
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            pkix.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            pkix.checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pkix.checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }
}
