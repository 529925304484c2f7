package io.jvirt.pki;

import io.jvirt.files.FileModes;
import io.jvirt.tls.Pem;
import io.jvirt.tls.Role;
import io.jvirt.tls.TlsDir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * jvirt's certificate authority in a {@link TlsDir}: {@code jvirt pki init | issue-server HOST... | issue-client
 * NAME [--read-only]}. Certificates are 0644, private keys 0600 and the directory 0700, each written with its
 * mode from the start (never with the umask's) and replaced atomically (a reader sees the old file or the new).
 */
public final class CertificateAuthority {
    private final TlsDir dir;
    private final X509Certificate cert;
    private final PrivateKey key;

    private CertificateAuthority(TlsDir dir, X509Certificate cert, PrivateKey key) {
        this.dir = dir;
        this.cert = cert;
        this.key = key;
    }

    /** A certificate and where its files went. */
    public record Issued(X509Certificate certificate, Path certFile, Path keyFile) {
    }

    /** Makes a new CA ({@code ca.pem}, {@code ca-key.pem}); refuses to replace an existing one. */
    public static CertificateAuthority init(TlsDir dir, String name, KeyType keyType, Validity validity) throws IOException {
        if (Files.exists(dir.caCert()) || Files.exists(dir.caKey())) {
            throw new FileAlreadyExistsException(dir.caCert().toString(), null,
                    "a CA already exists there; its certificates would stop working if it were replaced");
        }
        FileModes.createDirectories(dir.dir(), FileModes.PRIVATE_DIR);
        KeyPair pair = keyType.generate();
        X509Certificate ca = CertificateBuilder.selfSignedCa(CertificateBuilder.subject(name, null),
                pair.getPublic(), pair.getPrivate(), validity);
        writeKey(dir.caKey(), pair);
        writeCert(dir.caCert(), ca);
        return new CertificateAuthority(dir, ca, pair.getPrivate());
    }

    /** Opens an existing CA to issue more certificates. */
    public static CertificateAuthority open(TlsDir dir) throws IOException {
        X509Certificate ca = Pem.readCertificate(dir.caCert());
        if (!Files.exists(dir.caKey())) {
            throw new IOException("no CA key at " + dir.caKey() + ": certificates are issued where 'jvirt pki init' ran");
        }
        return new CertificateAuthority(dir, ca, Pem.readPrivateKey(dir.caKey()));
    }

    public X509Certificate certificate() {
        return cert;
    }

    /**
     * The host certificate of the CA's own host ({@code server.pem}, {@code server-key.pem}); see {@link #issueHost}.
     */
    public Issued issueServer(List<String> hosts, KeyType keyType, Validity validity) throws IOException {
        return issueHost(dir, hosts, keyType, validity);
    }

    /**
     * A host certificate into {@code target} (this CA's directory, or a directory to copy to another host): every
     * name and address clients use to reach the host become subject alternative names; serverAuth for its
     * listener and clientAuth for talking to peer hosts (migration), role {@link Role#HOST}. {@code target} also
     * gets {@code ca.pem} and QEMU's view of the files, {@code qemu/}.
     */
    public Issued issueHost(TlsDir target, List<String> hosts, KeyType keyType, Validity validity) throws IOException {
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("a server certificate needs at least one host name or address");
        }
        List<String> names = new ArrayList<>(new LinkedHashSet<>(hosts));
        KeyPair pair = keyType.generate();
        X509Certificate c = CertificateBuilder.endEntity(cert, key,
                CertificateBuilder.subject(names.get(0), Role.HOST.organizationalUnit()), pair.getPublic(),
                capped(validity), CertificateBuilder.Usage.SERVER_AND_CLIENT, names);
        FileModes.createDirectories(target.dir(), FileModes.PRIVATE_DIR);
        if (!target.dir().equals(dir.dir())) {
            writeCert(target.caCert(), cert);
        }
        writeKey(target.serverKey(), pair);
        writeCert(target.serverCert(), c);
        linkForQemu(target);
        return new Issued(c, target.serverCert(), target.serverKey());
    }

    /** A client certificate ({@code clients/NAME.pem}, {@code clients/NAME-key.pem}) with clientAuth and a role. */
    public Issued issueClient(String name, Role role, KeyType keyType, Validity validity) throws IOException {
        SubjectNames.checkClientName(name);
        FileModes.createDirectories(dir.clientsDir(), FileModes.PRIVATE_DIR);
        KeyPair pair = keyType.generate();
        X509Certificate c = CertificateBuilder.endEntity(cert, key,
                CertificateBuilder.subject(name, role.organizationalUnit()), pair.getPublic(), capped(validity),
                CertificateBuilder.Usage.CLIENT, List.of());
        writeKey(dir.issuedKey(name), pair);
        writeCert(dir.issuedCert(name), c);
        return new Issued(c, dir.issuedCert(name), dir.issuedKey(name));
    }

    /**
     * Copies an issued client certificate into a client's directory as the CLI reads it: {@code ca.pem},
     * {@code client.pem}, {@code client-key.pem}, in a 0700 directory.
     */
    public TlsDir exportClient(String name, Path target) throws IOException {
        SubjectNames.checkClientName(name);
        TlsDir out = new TlsDir(target);
        FileModes.createDirectories(target, FileModes.PRIVATE_DIR);
        writeAtomically(out.caCert(), Files.readAllBytes(dir.caCert()), FileModes.PUBLIC_FILE);
        writeAtomically(out.clientKey(), Files.readAllBytes(dir.issuedKey(name)), FileModes.PRIVATE_FILE);
        writeAtomically(out.clientCert(), Files.readAllBytes(dir.issuedCert(name)), FileModes.PUBLIC_FILE);
        return out;
    }

    /**
     * {@code qemu/} with QEMU's file names as relative symbolic links into the directory, so one set of files
     * serves jvirtd and {@code -object tls-creds-x509,dir=DIR/qemu}; the links follow a renewed certificate.
     */
    public static void linkForQemu(TlsDir dir) throws IOException {
        Path q = FileModes.createDirectories(dir.qemuDir(), FileModes.PRIVATE_DIR);
        for (Map.Entry<String, String> e : TlsDir.qemuLinks().entrySet()) {
            Path link = q.resolve(e.getKey());
            Path tmp = q.resolve("." + e.getKey() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createSymbolicLink(tmp, Path.of(e.getValue()));
            Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** A certificate may not outlive the CA that signed it. */
    private Validity capped(Validity v) {
        Instant caEnd = cert.getNotAfter().toInstant();
        return v.notAfter().isAfter(caEnd) ? new Validity(v.notBefore(), caEnd) : v;
    }

    private static void writeCert(Path file, X509Certificate c) throws IOException {
        try {
            writeAtomically(file, Pem.encode("CERTIFICATE", c.getEncoded()).getBytes(StandardCharsets.US_ASCII),
                    FileModes.PUBLIC_FILE);
        } catch (CertificateEncodingException e) {
            throw new IOException("cannot encode " + c.getSubjectX500Principal(), e);
        }
    }

    /** PKCS#8 ({@code BEGIN PRIVATE KEY}), which the JDK, OpenSSL and GnuTLS all read. */
    private static void writeKey(Path file, KeyPair pair) throws IOException {
        writeAtomically(file, Pem.encode("PRIVATE KEY", KeyEncoding.pkcs8(pair)).getBytes(StandardCharsets.US_ASCII),
                FileModes.PRIVATE_FILE);
    }

    private static void writeAtomically(Path file, byte[] content, int mode) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        FileModes.createFile(tmp, mode);
        FileModes.write(tmp, content, mode);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
