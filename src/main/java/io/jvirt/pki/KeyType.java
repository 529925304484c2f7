package io.jvirt.pki;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/**
 * Key algorithms {@code jvirt pki} makes. EC P-256 is the default: fast handshakes, small keys, and accepted by
 * every TLS stack jvirt meets (the JDK, OpenSSL/curl, QEMU's GnuTLS). RSA 3072 for sites whose policy wants RSA.
 */
public enum KeyType {
    EC_P256("EC", "SHA256withECDSA"),
    RSA_3072("RSA", "SHA256withRSA");

    private final String algorithm;
    private final String signature;

    KeyType(String algorithm, String signature) {
        this.algorithm = algorithm;
        this.signature = signature;
    }

    public KeyPair generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
            if (this == EC_P256) {
                g.initialize(new ECGenParameterSpec("secp256r1"));
            } else {
                g.initialize(3072);
            }
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make " + this + " keys", e);
        }
    }

    /** The signature algorithm a CA with this key type signs certificates with. */
    String signatureAlgorithm() {
        return signature;
    }

    /** The key type of an existing key (the CA's), by its JCA algorithm name. */
    static KeyType of(java.security.Key key) {
        return switch (key.getAlgorithm()) {
            case "EC" -> EC_P256;
            case "RSA" -> RSA_3072;
            default -> throw new IllegalArgumentException("unsupported CA key algorithm " + key.getAlgorithm());
        };
    }
}
