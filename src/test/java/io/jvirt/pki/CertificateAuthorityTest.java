package io.jvirt.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.files.FileModes;
import io.jvirt.testing.Command;
import io.jvirt.tls.Identity;
import io.jvirt.tls.Pem;
import io.jvirt.tls.Role;
import io.jvirt.tls.TlsDir;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jvirt pki's files, checked by OpenSSL: chains, purposes, names, expiry, modes, and the role read back. */
class CertificateAuthorityTest {
    @TempDir
    Path tmp;
    private TlsDir dir;
    private CertificateAuthority ca;

    @BeforeEach
    void init() throws Exception {
        dir = new TlsDir(tmp.resolve("tls"));
        ca = CertificateAuthority.init(dir, "jvirt test CA", KeyType.EC_P256, Validity.caDefault());
        ca.issueServer(List.of("host1.example", "localhost", "127.0.0.1", "::1"), KeyType.EC_P256, Validity.leafDefault());
        ca.issueClient("alice", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        ca.issueClient("bob", Role.READ_ONLY, KeyType.EC_P256, Validity.leafDefault());
    }

    @Test
    void opensslAcceptsTheChainsForTheirPurposes() {
        String out = openssl("verify", "-CAfile", dir.caCert().toString(), dir.serverCert().toString(),
                dir.issuedCert("alice").toString(), dir.issuedCert("bob").toString());
        assertThat(out).contains(dir.serverCert() + ": OK", dir.issuedCert("alice") + ": OK", dir.issuedCert("bob") + ": OK");
        openssl("verify", "-purpose", "sslserver", "-CAfile", dir.caCert().toString(), dir.serverCert().toString());
        openssl("verify", "-purpose", "sslclient", "-CAfile", dir.caCert().toString(), dir.serverCert().toString());
        openssl("verify", "-purpose", "sslclient", "-CAfile", dir.caCert().toString(), dir.issuedCert("alice").toString());
        // a client certificate cannot serve
        Command.Result asServer = Command.run(List.of("openssl", "verify", "-purpose", "sslserver", "-CAfile",
                dir.caCert().toString(), dir.issuedCert("alice").toString()));
        assertThat(asServer.exit()).isNotZero();
        assertThat(asServer.output()).contains("unsuitable certificate purpose");
    }

    @Test
    void aCertificateOfAnotherCaIsRejected() throws Exception {
        TlsDir other = new TlsDir(tmp.resolve("other"));
        CertificateAuthority.init(other, "another CA", KeyType.EC_P256, Validity.caDefault());
        Command.Result r = Command.run(List.of("openssl", "verify", "-CAfile", other.caCert().toString(),
                dir.serverCert().toString()));
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("unable to get local issuer certificate");
    }

    @Test
    void namesUsagesAndRolesAreInTheCertificates() throws Exception {
        String server = openssl("x509", "-in", dir.serverCert().toString(), "-noout", "-text");
        assertThat(server).contains("DNS:host1.example", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1")
                .contains("TLS Web Server Authentication, TLS Web Client Authentication")
                .contains("Digital Signature, Key Encipherment").contains("CA:FALSE")
                .contains("OU = jvirt-host").contains("ASN1 OID: prime256v1");
        String alice = openssl("x509", "-in", dir.issuedCert("alice").toString(), "-noout", "-text");
        assertThat(alice).contains("TLS Web Client Authentication").doesNotContain("Server Authentication")
                .contains("OU = jvirt-read-write").doesNotContain("Subject Alternative Name");
        assertThat(openssl("x509", "-in", dir.issuedCert("bob").toString(), "-noout", "-subject"))
                .contains("OU = jvirt-read-only", "CN = bob");
        String caText = openssl("x509", "-in", dir.caCert().toString(), "-noout", "-text");
        assertThat(caText).contains("CA:TRUE, pathlen:0").contains("Certificate Sign, CRL Sign");

        assertThat(Identity.of(Pem.readCertificate(dir.issuedCert("alice"))).role()).isEqualTo(Role.READ_WRITE);
        assertThat(Identity.of(Pem.readCertificate(dir.issuedCert("bob"))).role()).isEqualTo(Role.READ_ONLY);
        Identity host = Identity.of(Pem.readCertificate(dir.serverCert()));
        assertThat(host.role()).isEqualTo(Role.HOST);
        assertThat(host.name()).isEqualTo("host1.example");
        String fp = openssl("x509", "-in", dir.serverCert().toString(), "-noout", "-fingerprint", "-sha256");
        assertThat(fp.substring(fp.indexOf('=') + 1).strip().replace(":", "").toLowerCase()).isEqualTo(host.fingerprint());
    }

    @Test
    void filesHaveTheirModesFromTheStart() throws Exception {
        assertThat(FileModes.modeOf(dir.dir())).isEqualTo(0700);
        assertThat(FileModes.modeOf(dir.caKey())).isEqualTo(0600);
        assertThat(FileModes.modeOf(dir.serverKey())).isEqualTo(0600);
        assertThat(FileModes.modeOf(dir.issuedKey("alice"))).isEqualTo(0600);
        assertThat(FileModes.modeOf(dir.caCert())).isEqualTo(0644);
        assertThat(FileModes.modeOf(dir.serverCert())).isEqualTo(0644);
        assertThat(Files.readString(dir.serverKey())).startsWith("-----BEGIN PRIVATE KEY-----");
        // openssl reads the PKCS#8 key and it belongs to the certificate
        String keyPub = openssl("pkey", "-in", dir.serverKey().toString(), "-pubout");
        String certPub = openssl("x509", "-in", dir.serverCert().toString(), "-noout", "-pubkey");
        assertThat(keyPub).isEqualTo(certPub);
    }

    @Test
    void qemuSeesItsFileNames() throws Exception {
        Path q = dir.qemuDir();
        assertThat(q.resolve("ca-cert.pem").toRealPath()).isEqualTo(dir.caCert().toRealPath());
        assertThat(q.resolve("server-cert.pem").toRealPath()).isEqualTo(dir.serverCert().toRealPath());
        assertThat(q.resolve("server-key.pem").toRealPath()).isEqualTo(dir.serverKey().toRealPath());
        assertThat(q.resolve("client-cert.pem").toRealPath()).isEqualTo(dir.serverCert().toRealPath());
        assertThat(q.resolve("client-key.pem").toRealPath()).isEqualTo(dir.serverKey().toRealPath());
        assertThat(Files.readSymbolicLink(q.resolve("ca-cert.pem"))).isEqualTo(Path.of("../ca.pem"));
    }

    @Test
    void expiryIsConfigurable() throws Exception {
        Instant now = Instant.now();
        ca.issueClient("old", Role.READ_WRITE, KeyType.EC_P256,
                new Validity(now.minus(Duration.ofDays(3)), now.minus(Duration.ofDays(1))));
        Command.Result r = Command.run(List.of("openssl", "verify", "-CAfile", dir.caCert().toString(),
                dir.issuedCert("old").toString()));
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("certificate has expired");
        // capped by the CA's own end
        ca.issueClient("long", Role.READ_WRITE, KeyType.EC_P256, Validity.days(365 * 50));
        assertThat(Pem.readCertificate(dir.issuedCert("long")).getNotAfter()).isEqualTo(ca.certificate().getNotAfter());
    }

    @Test
    void rsaWorksToo() throws Exception {
        TlsDir rsa = new TlsDir(tmp.resolve("rsa"));
        CertificateAuthority r = CertificateAuthority.init(rsa, "rsa CA", KeyType.RSA_3072, Validity.caDefault());
        r.issueClient("carol", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        assertThat(openssl("verify", "-CAfile", rsa.caCert().toString(), rsa.issuedCert("carol").toString())).contains(": OK");
        assertThat(openssl("x509", "-in", rsa.caCert().toString(), "-noout", "-text")).contains("Public-Key: (3072 bit)");
    }

    @Test
    void exportedClientDirectoryIsWhatTheCliReads() throws Exception {
        TlsDir out = ca.exportClient("bob", tmp.resolve("bob-tls"));
        assertThat(Files.readString(out.clientCert())).isEqualTo(Files.readString(dir.issuedCert("bob")));
        assertThat(FileModes.modeOf(out.clientKey())).isEqualTo(0600);
        assertThat(FileModes.modeOf(out.dir())).isEqualTo(0700);
        assertThat(Files.readString(out.caCert())).isEqualTo(Files.readString(dir.caCert()));
    }

    @Test
    void badInputChangesNothing() throws Exception {
        assertThatThrownBy(() -> CertificateAuthority.init(dir, "again", KeyType.EC_P256, Validity.caDefault()))
                .isInstanceOf(FileAlreadyExistsException.class);
        assertThatThrownBy(() -> ca.issueClient("../evil", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault()))
                .hasMessageContaining("invalid client name");
        assertThatThrownBy(() -> ca.issueServer(List.of("*.example"), KeyType.EC_P256, Validity.leafDefault()))
                .hasMessageContaining("no wildcards");
        assertThatThrownBy(() -> ca.issueServer(List.of("300.1.1.1"), KeyType.EC_P256, Validity.leafDefault()))
                .hasMessageContaining("not a valid IPv4");
        assertThat(Files.list(dir.clientsDir()).map(p -> p.getFileName().toString()).sorted().toList())
                .containsExactly("alice-key.pem", "alice.pem", "bob-key.pem", "bob.pem");
        assertThat(Identity.of(Pem.readCertificate(dir.serverCert())).name()).isEqualTo("host1.example");
    }

    private static String openssl(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "openssl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        return Command.ok(cmd);
    }
}
