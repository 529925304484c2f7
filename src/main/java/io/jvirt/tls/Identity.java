package io.jvirt.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * Who is on the other end of a verified TLS connection: the subject of its certificate, the jvirt {@link Role}
 * it carries, when it expires and its SHA-256 fingerprint (what {@code openssl x509 -noout -fingerprint -sha256}
 * prints, without colons), which names it in logs and in the {@code revoked} list.
 */
public record Identity(String subject, String name, Role role, Instant notAfter, String fingerprint) {

    /** Reads the identity of a certificate the TLS stack has already verified; role null if it carries none. */
    public static Identity of(X509Certificate cert) {
        X500Principal p = cert.getSubjectX500Principal();
        String rfc2253 = p.getName(X500Principal.RFC2253);
        List<String> units = attributes(rfc2253, "OU");
        List<String> cns = attributes(rfc2253, "CN");
        return new Identity(rfc2253, cns.isEmpty() ? rfc2253 : cns.get(0), Role.fromUnits(units),
                cert.getNotAfter().toInstant(), fingerprint(cert));
    }

    /** Lower-case hex SHA-256 of the certificate's DER encoding. */
    public static String fingerprint(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (CertificateEncodingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint " + cert.getSubjectX500Principal(), e);
        }
    }

    /** For a log line: {@code alice (read-only, sha256 1a2b3c4d…)}. */
    public String describe() {
        return name + " (" + (role == null ? "no role" : role.organizationalUnit().substring("jvirt-".length()))
                + ", sha256 " + fingerprint.substring(0, 16) + "…)";
    }

    /**
     * Values of one attribute type in an RFC 2253 name. The JDK writes such names with special characters
     * escaped by a backslash (and a value starting with '#' as hex), so splitting on unescaped ',' and '+' is
     * exact for names it produced; this avoids loading javax.naming for one lookup.
     */
    static List<String> attributes(String rfc2253, String type) {
        List<String> values = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i <= rfc2253.length(); i++) {
            char c = i < rfc2253.length() ? rfc2253.charAt(i) : ',';
            if (c == '\\' && i + 1 < rfc2253.length()) {
                cur.append(c).append(rfc2253.charAt(++i));
            } else if (c == ',' || c == '+') {
                String rdn = cur.toString();
                int eq = rdn.indexOf('=');
                if (eq > 0 && rdn.substring(0, eq).trim().equalsIgnoreCase(type)) {
                    values.add(unescape(rdn.substring(eq + 1)));
                }
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        return values;
    }

    private static String unescape(String v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '\\' && i + 1 < v.length()) {
                c = v.charAt(++i);
            }
            b.append(c);
        }
        return b.toString();
    }
}
