package io.jvirt.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM files with the JDK alone: X.509 certificates, and unencrypted PKCS#8 private keys ({@code BEGIN PRIVATE KEY},
 * EC or RSA), which is what {@code jvirt pki} writes and what QEMU's GnuTLS reads. Other key encodings are
 * refused with the command that converts them, rather than pulling a PEM library into the CLI.
 */
public final class Pem {
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)-----END \\1-----");

    private Pem() {
    }

    /** Every certificate in a PEM file, in file order (leaf first for a chain). */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        byte[] bytes = read(file, "certificate");
        List<X509Certificate> certs = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (var c : cf.generateCertificates(new ByteArrayInputStream(bytes))) {
                certs.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new IOException(file + " is not a PEM certificate file: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new IOException(file + " holds no certificate");
        }
        return certs;
    }

    /** The first certificate of a PEM file. */
    public static X509Certificate readCertificate(Path file) throws IOException {
        return readCertificates(file).get(0);
    }

    /** An unencrypted PKCS#8 private key (EC or RSA). */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        String text = new String(read(file, "private key"), StandardCharsets.US_ASCII);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            switch (type) {
                case "PRIVATE KEY" -> {
                    return decodePkcs8(file, Base64.getMimeDecoder().decode(m.group(2)));
                }
                case "EC PRIVATE KEY", "RSA PRIVATE KEY" -> throw new IOException(file + " holds a " + type
                        + " (SEC1/PKCS#1 encoding); jvirt reads PKCS#8 keys: convert it with"
                        + " 'openssl pkcs8 -topk8 -nocrypt -in " + file + " -out " + file + ".p8' and use that file");
                case "ENCRYPTED PRIVATE KEY" -> throw new IOException(file + " is an encrypted key; jvirt needs it"
                        + " unencrypted (protected by its 0600 mode): 'openssl pkcs8 -in " + file + " -out NEW'");
                default -> {
                    // e.g. EC PARAMETERS before the key: skip
                }
            }
        }
        throw new IOException(file + " holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    }

    private static PrivateKey decodePkcs8(Path file, byte[] der) throws IOException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        GeneralSecurityException last = null;
        for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new IOException(file + ": not an EC, RSA or Ed25519 PKCS#8 key", last);
    }

    /** PEM text of a DER structure: {@code -----BEGIN type-----}, base64 in 64-column lines, {@code -----END type-----}. */
    public static String encode(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    private static byte[] read(Path file, String what) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no " + what + " file");
        }
    }
}
