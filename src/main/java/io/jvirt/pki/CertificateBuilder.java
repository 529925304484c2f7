package io.jvirt.pki;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Writes one X.509 v3 certificate: the only thing jvirt needs BouncyCastle for (the JDK can read certificates
 * but has no public API to make one). Signing and key handling stay with the JDK's providers; BouncyCastle is
 * never registered as a provider.
 *
 * <p>Extensions, chosen to satisfy OpenSSL, the JDK and QEMU's GnuTLS sanity checks alike: basic constraints
 * (critical; CA with path length 0, or end entity), key usage (critical; keyCertSign + cRLSign for the CA,
 * digitalSignature + keyEncipherment for end entities, the pair QEMU's check requires when the extension is
 * critical), extended key usage, subject alternative names, subject and authority key identifiers.
 */
final class CertificateBuilder {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What an end-entity certificate may be used for. */
    enum Usage { SERVER_AND_CLIENT, CLIENT }

    private CertificateBuilder() {
    }

    static X500Name subject(String commonName, String unit) {
        X500NameBuilder b = new X500NameBuilder(BCStyle.INSTANCE);
        b.addRDN(BCStyle.O, "jvirt");
        if (unit != null) {
            b.addRDN(BCStyle.OU, unit);
        }
        b.addRDN(BCStyle.CN, commonName);
        return b.build();
    }

    static X509Certificate selfSignedCa(X500Name subject, PublicKey pub, PrivateKey key, Validity v) {
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(v.notBefore()), Date.from(v.notAfter()), subject, pub);
            JcaX509ExtensionUtils u = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, u.createSubjectKeyIdentifier(pub));
            return sign(b, key);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot make the CA certificate", e);
        }
    }

    /** An end-entity certificate signed by the CA; {@code hosts} become DNS or IP subject alternative names. */
    static X509Certificate endEntity(X509Certificate ca, PrivateKey caKey, X500Name subject, PublicKey pub,
            Validity v, Usage usage, List<String> hosts) {
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(),
                    Date.from(v.notBefore()), Date.from(v.notAfter()), subject, pub);
            JcaX509ExtensionUtils u = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            KeyPurposeId[] purposes = usage == Usage.CLIENT
                    ? new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}
                    : new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth};
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
            if (!hosts.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, alternativeNames(hosts));
            }
            b.addExtension(Extension.subjectKeyIdentifier, false, u.createSubjectKeyIdentifier(pub));
            b.addExtension(Extension.authorityKeyIdentifier, false, u.createAuthorityKeyIdentifier(ca));
            return sign(b, caKey);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot make the certificate of " + subject, e);
        }
    }

    private static GeneralNames alternativeNames(List<String> hosts) {
        List<GeneralName> names = new ArrayList<>();
        for (String h : hosts) {
            InetAddress ip = SubjectNames.ipLiteral(h);
            names.add(ip != null
                    ? new GeneralName(GeneralName.iPAddress, new DEROctetString(ip.getAddress()))
                    : new GeneralName(GeneralName.dNSName, SubjectNames.checkDnsName(h)));
        }
        return new GeneralNames(names.toArray(GeneralName[]::new));
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            var signer = new JcaContentSignerBuilder(KeyType.of(key).signatureAlgorithm()).build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with the " + key.getAlgorithm() + " key", e);
        }
    }

    /** 127 random bits, positive: unique per certificate without a counter to keep (RFC 5280 allows 20 octets). */
    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).setBit(126);
    }
}
