package io.jvirt.pki;

import java.io.IOException;
import java.security.KeyPair;
import java.security.interfaces.ECPrivateKey;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * PKCS#8 DER of a private key, readable by the JDK, OpenSSL and GnuTLS alike. The JDK's own encoding of an EC key
 * leaves the optional public key out of the inner ECPrivateKey (RFC 5915), and GnuTLS (QEMU's tls-creds-x509)
 * then refuses the file ("ASN1 parser: Element was not found"); so EC keys are written with their curve and
 * public key inside, as OpenSSL writes them. RSA keys are written as the JDK encodes them.
 */
final class KeyEncoding {
    private KeyEncoding() {
    }

    static byte[] pkcs8(KeyPair pair) throws IOException {
        if (!(pair.getPrivate() instanceof ECPrivateKey ec)) {
            return pair.getPrivate().getEncoded();
        }
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(pair.getPublic().getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner = new org.bouncycastle.asn1.sec.ECPrivateKey(
                ec.getParams().getOrder().bitLength(), ec.getS(), spki.getPublicKeyData(),
                spki.getAlgorithm().getParameters());
        return new PrivateKeyInfo(spki.getAlgorithm(), inner).getEncoded("DER");
    }
}
