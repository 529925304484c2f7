package io.jvirt.tls;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * The client side of mutual TLS, for the CLI ({@code --connect tls://host:port}) and for one daemon talking to
 * another: TLS 1.3, the server's certificate must chain to {@code ca.pem} and name the host connected to (its
 * DNS or IP subject alternative names, checked by the JDK as for HTTPS), and our own certificate is sent.
 *
 * <p>JDK only, on purpose: the one-shot CLI loads this on every remote call, and BouncyCastle alone would add
 * hundreds of classes to its start-up.
 */
public final class TlsClient {
    private final TlsDir dir;
    private final SSLContext context;
    private final X509Certificate own;
    private final List<X509Certificate> anchors;

    private TlsClient(TlsDir dir, SSLContext context, X509Certificate own, List<X509Certificate> anchors) {
        this.dir = dir;
        this.context = context;
        this.own = own;
        this.anchors = List.copyOf(anchors);
    }

    /** The CLI: {@code ca.pem}, {@code client.pem}, {@code client-key.pem} of a client's directory. */
    public static TlsClient load(TlsDir dir) throws IOException {
        requireFile(dir.caCert(), dir, "the CA certificate");
        requireFile(dir.clientCert(), dir, "this client's certificate");
        return load(dir, dir.clientCert(), dir.clientKey());
    }

    /** A daemon connecting to a peer daemon: its host certificate ({@code server.pem}) is its client identity. */
    public static TlsClient loadHost(TlsDir dir) throws IOException {
        return load(dir, dir.serverCert(), dir.serverKey());
    }

    /** With an explicit certificate and key, or none (both null): a client the server will refuse. */
    public static TlsClient load(TlsDir dir, Path cert, Path key) throws IOException {
        List<X509Certificate> anchors = TlsContexts.anchors(dir);
        KeyManager[] keys = cert == null ? null : TlsContexts.keyManagers(cert, key, anchors);
        return new TlsClient(dir, TlsContexts.context(keys, TlsContexts.pkix(anchors)),
                cert == null ? null : Pem.readCertificate(cert), anchors);
    }

    public SSLContext context() {
        return context;
    }

    /** This client's own certificate, or null. */
    public X509Certificate certificate() {
        return own;
    }

    /** TLS 1.3, host name verification against the server certificate's SANs, SNI for names (not for IPs). */
    public SSLParameters parameters(String host) {
        SSLParameters p = TlsContexts.parameters(context);
        p.setEndpointIdentificationAlgorithm("HTTPS");
        if (!isIpLiteral(host)) {
            p.setServerNames(List.of(new SNIHostName(host)));
        }
        return p;
    }

    /**
     * Connects and completes the handshake; failures come back as a {@link TlsFailure} that says what to fix.
     * Under TLS 1.3 a server's refusal of our certificate arrives after the handshake, with the first read:
     * callers pass errors of their first request through {@link #explain} too.
     */
    public SSLSocket connect(String host, int port, Duration timeout) throws IOException {
        Socket plain = new Socket();
        try {
            // no Nagle: a request written right after the handshake would otherwise wait for the ACK of its last
            // flight, and a delayed ACK costs 40 ms on Linux
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            plain.setSoTimeout((int) timeout.toMillis());
            SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(plain, host, port, true);
            s.setSSLParameters(parameters(host));
            s.startHandshake();
            return s;
        } catch (SSLException | java.io.EOFException | java.net.SocketException e) {
            plain.close();
            throw TlsFailure.explainClient(e, host + ":" + port, dir, own, anchors, false);
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /**
     * Explains a failure of the first request on a connection from {@link #connect} (see
     * {@link TlsFailure#explainClient}); later failures on a connection that already worked are ordinary I/O.
     */
    public TlsFailure explain(IOException e, String peer) {
        return TlsFailure.explainClient(e, peer, dir, own, anchors, true);
    }

    private static void requireFile(Path file, TlsDir dir, String what) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new TlsFailure(TlsFailure.Reason.NO_CLIENT_CERTIFICATE, "no " + what + " at " + file + " (TLS files are"
                    + " read from $" + TlsDir.ENV + ", default ~/.config/jvirt/tls; see 'jvirt pki issue-client')", null);
        }
    }

    static boolean isIpLiteral(String host) {
        return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }
}
