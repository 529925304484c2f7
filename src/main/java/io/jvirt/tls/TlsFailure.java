package io.jvirt.tls;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * A TLS connection that failed for a reason a user can act on. The JDK's messages ("PKIX path building failed",
 * "Received fatal alert: certificate_required") name the mechanism, not the fix; {@link #explain} turns them into
 * one of the {@link Reason}s and a sentence that says what to do.
 */
public final class TlsFailure extends IOException {
    /** Why. The client side and the server side see different ones for the same fault; both are named. */
    public enum Reason {
        /** Server side: the client sent no certificate. Client side: the server asked for one we lack. */
        NO_CLIENT_CERTIFICATE,
        /** The peer's certificate is not issued by our CA (server side: the client's; client side: the server's). */
        UNKNOWN_CA,
        /** The server did not accept our client certificate (another CA, or a certificate it cannot use). */
        CLIENT_CERTIFICATE_REFUSED,
        /** The peer's certificate has expired or is not valid yet. */
        EXPIRED,
        /** The server refused our client certificate as expired. */
        CLIENT_CERTIFICATE_EXPIRED,
        /** Client side: the server's certificate does not name the host we connected to. */
        WRONG_HOST,
        /** The peer's certificate carries no jvirt role, or is on the revoked list. */
        NOT_ALLOWED,
        /** The bytes on the wire are not TLS (plain HTTP to the TLS port, or a TLS client on a plain port). */
        NOT_TLS,
        /** No TLS 1.3 in common. */
        PROTOCOL,
        /** Anything else: the JDK's own message is kept. */
        OTHER
    }

    private final Reason reason;

    public TlsFailure(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /**
     * Explains a failure seen by the client connecting to {@code peer} ("host:port") with the files of {@code dir}
     * and its own certificate {@code own} (null if it has none). Works for failures of the handshake and of the
     * first read: under TLS 1.3 the server judges the client's certificate after the client has finished its
     * handshake, so its alert arrives with the first response. The JDK's server answers an expired certificate
     * and one of another CA with the same alert ({@code certificate_unknown}), so the client tells them apart by
     * looking at its own certificate; and the JDK's client does not even offer a certificate whose issuer the
     * server does not list, so "none sent" with a certificate at hand means "not issued by that server's CA".
     *
     * <p>The server's alert and its close may overtake our last handshake flight or the first request, and the
     * client then sees only a reset or a broken pipe: on a fresh connection that too means the server refused our
     * certificate (its log says exactly why). {@code afterHandshake}: the failure hit the first request on a
     * connection whose handshake had completed, so an end of stream also means a refusal.
     */
    public static TlsFailure explainClient(IOException e, String peer, TlsDir dir, X509Certificate own,
            List<X509Certificate> anchors, boolean afterHandshake) {
        if (e instanceof TlsFailure f) {
            return f;
        }
        String alert = alert(e);
        String m = messages(e);
        // the server judged our certificate and hung up while we were still writing (our last handshake flight or
        // the first request): no alert reaches us, only EPIPE or a reset
        boolean closed = alert == null && (m.contains("broken pipe") || m.contains("connection reset")
                || (afterHandshake && (e instanceof EOFException || m.contains("connection closed"))));
        boolean refused = closed || "certificate_required".equals(alert) || "certificate_expired".equals(alert)
                || "unknown_ca".equals(alert) || "bad_certificate".equals(alert) || "certificate_unknown".equals(alert)
                || "unsupported_certificate".equals(alert) || "access_denied".equals(alert);
        if (refused && own == null) {
            return new TlsFailure(Reason.NO_CLIENT_CERTIFICATE, peer + " requires a client certificate and none was"
                    + " sent: put client.pem and client-key.pem (from 'jvirt pki issue-client') in " + dir.dir(), e);
        }
        if (refused && ("certificate_expired".equals(alert) || !validNow(own))) {
            return new TlsFailure(Reason.CLIENT_CERTIFICATE_EXPIRED, peer + " refused our client certificate "
                    + dir.clientCert() + ": it has expired or is not valid yet (valid from " + own.getNotBefore().toInstant()
                    + " to " + own.getNotAfter().toInstant() + "); ask for a new one ('jvirt pki issue-client')", e);
        }
        if (refused && !issuedBy(own, anchors)) {
            return new TlsFailure(Reason.CLIENT_CERTIFICATE_REFUSED, peer + " refused our client certificate: "
                    + dir.clientCert() + " (issued by " + own.getIssuerX500Principal().getName() + ") is not issued by"
                    + " the CA in " + dir.caCert() + ", the CA of that host; use one it issued", e);
        }
        if ("certificate_required".equals(alert)) {
            return new TlsFailure(Reason.CLIENT_CERTIFICATE_REFUSED, peer + " accepts only client certificates of"
                    + " another CA than the one of " + dir.clientCert() + " (" + own.getIssuerX500Principal().getName()
                    + ")", e);
        }
        if (refused) {
            return new TlsFailure(Reason.CLIENT_CERTIFICATE_REFUSED, peer + " refused our client certificate "
                    + dir.clientCert() + " (" + (alert != null ? alert : "it hung up during the handshake")
                    + "): it is not issued by the CA that host trusts, carries no jvirt role, or was revoked; that host's"
                    + " log says which", e);
        }
        if (has(e, CertificateExpiredException.class) || has(e, CertificateNotYetValidException.class)
                || m.contains("validity check failed") || hasReason(e, CertPathValidatorException.BasicReason.EXPIRED)) {
            return new TlsFailure(Reason.EXPIRED, "the certificate of " + peer + " is expired or not yet valid ("
                    + rootMessage(e) + "); the host needs a new one ('jvirt pki issue-server')", e);
        }
        if (m.contains("no subject alternative") || m.contains("no name matching")) {
            return new TlsFailure(Reason.WRONG_HOST, "the certificate of " + peer + " is not valid for that name ("
                    + rootMessage(e) + "): connect with a name or address it lists, or issue it one that does"
                    + " ('jvirt pki issue-server HOST...')", e);
        }
        if (m.contains("pkix path") || m.contains("unable to find valid certification path")
                || m.contains("signature check failed")) {
            return new TlsFailure(Reason.UNKNOWN_CA, "the certificate of " + peer + " is not issued by the CA in "
                    + dir.caCert() + ": wrong host, or this client has another CA's ca.pem", e);
        }
        if ("protocol_version".equals(alert) || m.contains("no appropriate protocol")) {
            return new TlsFailure(Reason.PROTOCOL, peer + " does not speak TLS 1.3", e);
        }
        if (m.contains("unsupported or unrecognized ssl message") || m.contains("remote host terminated the handshake")
                || (e instanceof EOFException && alert == null && !afterHandshake)) {
            return new TlsFailure(Reason.NOT_TLS, peer + " did not answer with TLS (a plain HTTP port, or not jvirtd)", e);
        }
        return new TlsFailure(Reason.OTHER, "TLS connection to " + peer + " failed: " + rootMessage(e), e);
    }

    /** Explains, for the daemon's log, why a client at {@code peer} was refused during the handshake. */
    public static TlsFailure explainServer(IOException e, String peer) {
        if (e instanceof TlsFailure f) {
            return f;
        }
        String m = messages(e);
        if (m.contains("empty client certificate chain") || m.contains("peer not authenticated")
                || m.contains("null cert chain")) {
            return new TlsFailure(Reason.NO_CLIENT_CERTIFICATE, "client " + peer + " sent no certificate", e);
        }
        if (has(e, CertificateExpiredException.class) || has(e, CertificateNotYetValidException.class)
                || m.contains("validity check failed") || hasReason(e, CertPathValidatorException.BasicReason.EXPIRED)) {
            return new TlsFailure(Reason.EXPIRED, "client " + peer + " sent an expired or not yet valid certificate ("
                    + rootMessage(e) + ")", e);
        }
        if (m.contains("no jvirt role") || m.contains("is revoked")) {
            return new TlsFailure(Reason.NOT_ALLOWED, "client " + peer + ": " + rootMessage(e), e);
        }
        if (m.contains("pkix path") || m.contains("unable to find valid certification path")
                || m.contains("signature check failed")) {
            return new TlsFailure(Reason.UNKNOWN_CA, "client " + peer + " sent a certificate not issued by our CA", e);
        }
        if (m.contains("unsupported or unrecognized ssl message")) {
            return new TlsFailure(Reason.NOT_TLS, "client " + peer + " did not speak TLS (plain HTTP to the TLS port?)", e);
        }
        if ((m.contains("protocol") && m.contains("version")) || m.contains("no appropriate protocol")) {
            return new TlsFailure(Reason.PROTOCOL, "client " + peer + " does not offer TLS 1.3", e);
        }
        return new TlsFailure(Reason.OTHER, "TLS handshake with " + peer + " failed: " + rootMessage(e), e);
    }

    private static boolean issuedBy(X509Certificate c, List<X509Certificate> anchors) {
        for (X509Certificate a : anchors) {
            try {
                c.verify(a.getPublicKey());
                return true;
            } catch (java.security.GeneralSecurityException notThisOne) {
                // try the next anchor
            }
        }
        return false;
    }

    private static boolean validNow(X509Certificate c) {
        Date now = new Date();
        return !now.before(c.getNotBefore()) && !now.after(c.getNotAfter());
    }

    /** The alert name in "Received fatal alert: NAME", anywhere in the cause chain. */
    private static String alert(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String msg = t.getMessage();
            if (msg != null && (t instanceof SSLException || t instanceof SocketException)) {
                int i = msg.indexOf("fatal alert: ");
                if (i >= 0) {
                    return msg.substring(i + "fatal alert: ".length()).trim();
                }
            }
        }
        return null;
    }

    private static String messages(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
        }
        return b.toString().toLowerCase(Locale.ROOT);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private static boolean has(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasReason(Throwable e, CertPathValidatorException.Reason reason) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertPathValidatorException v && v.getReason() == reason) {
                return true;
            }
        }
        return false;
    }
}
