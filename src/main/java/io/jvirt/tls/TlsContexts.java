package io.jvirt.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Builds the JDK's {@link SSLContext}s from the PEM files of a {@link TlsDir}: the only trust anchor is the jvirt
 * CA in {@code ca.pem} (never the system's CAs), and the protocol is TLS 1.3 only. TLS 1.3 leaves no weak choice
 * to configure (its five suites are all AEAD with forward secrecy; the JDK offers AES-GCM and ChaCha20-Poly1305),
 * every client jvirt has (the JDK, curl, QEMU's GnuTLS) speaks it, and it never sends certificates in clear.
 */
final class TlsContexts {
    static final String PROTOCOL = "TLSv1.3";
    private static final Set<PosixFilePermission> TOO_OPEN = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private TlsContexts() {
    }

    /** The CA certificate(s) of {@code ca.pem}. */
    static List<X509Certificate> anchors(TlsDir dir) throws IOException {
        return Pem.readCertificates(dir.caCert());
    }

    static SSLContext context(KeyManager[] keys, X509TrustManager trust) throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance(PROTOCOL);
            ctx.init(keys, new TrustManager[] {trust}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    static SSLParameters parameters(SSLContext ctx) {
        SSLParameters p = ctx.getDefaultSSLParameters();
        p.setProtocols(new String[] {PROTOCOL});
        return p;
    }

    /** PKIX validation against exactly the given anchors. */
    static X509TrustManager pkix(List<X509Certificate> anchors) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < anchors.size(); i++) {
                ks.setCertificateEntry("ca" + i, anchors.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IOException("the JDK offers no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot load the CA certificates: " + e.getMessage(), e);
        }
    }

    /**
     * The key managers for one certificate and its key; the chain sent is the certificate plus the CA (so a peer
     * holding only an older copy of ca.pem still builds the path). Checks the key's file mode and that the key
     * belongs to the certificate, with messages naming the files.
     */
    static KeyManager[] keyManagers(Path certFile, Path keyFile, List<X509Certificate> anchors) throws IOException {
        X509Certificate cert = Pem.readCertificate(certFile);
        checkPrivate(keyFile);
        PrivateKey key = Pem.readPrivateKey(keyFile);
        if (!key.getAlgorithm().equals(cert.getPublicKey().getAlgorithm())) {
            throw new IOException(keyFile + " (" + key.getAlgorithm() + ") is not the key of " + certFile + " ("
                    + cert.getPublicKey().getAlgorithm() + ")");
        }
        checkPair(key, cert, keyFile, certFile);
        List<X509Certificate> chain = new ArrayList<>(List.of(cert));
        for (X509Certificate a : anchors) {
            if (!a.equals(cert) && a.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
                chain.add(a);
            }
        }
        try {
            char[] password = "jvirt".toCharArray(); // in-memory keystore only: never written anywhere
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("key", key, password, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(ks, password);
            return kmf.getKeyManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use " + certFile + " with " + keyFile + ": " + e.getMessage(), e);
        }
    }

    /** A private key readable by anyone but its owner is refused, as ssh does: it may already be someone else's. */
    static void checkPrivate(Path keyFile) throws IOException {
        if (!Files.exists(keyFile)) {
            throw new java.nio.file.NoSuchFileException(keyFile.toString(), null, "no private key file");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile); // a link's target: what is read
        Set<PosixFilePermission> open = EnumSet.noneOf(PosixFilePermission.class);
        open.addAll(perms);
        open.retainAll(TOO_OPEN);
        if (!open.isEmpty()) {
            throw new IOException(keyFile + " is accessible by others (" + PosixFilePermissions.toString(perms)
                    + "); a private key must be 0600: chmod 600 " + keyFile);
        }
    }

    /** Signs a challenge with the key and verifies it with the certificate: a mismatched pair is caught here. */
    private static void checkPair(PrivateKey key, X509Certificate cert, Path keyFile, Path certFile) throws IOException {
        String alg = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm();
        };
        try {
            byte[] challenge = "jvirt key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.security.Signature s = java.security.Signature.getInstance(alg);
            s.initSign(key);
            s.update(challenge);
            byte[] sig = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(challenge);
            if (!s.verify(sig)) {
                throw new IOException(keyFile + " is not the private key of " + certFile);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot check " + keyFile + " against " + certFile + ": " + e.getMessage(), e);
        }
    }
}
