package io.jvirt.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.pki.CertificateAuthority;
import io.jvirt.pki.KeyType;
import io.jvirt.pki.Validity;
import io.jvirt.testing.Command;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real sockets on loopback: who gets in, and what each refused party is told. */
class MutualTlsTest {
    @TempDir
    Path tmp;
    private TlsDir host;
    private CertificateAuthority ca;
    private TlsEcho echo;

    @BeforeEach
    void start() throws Exception {
        host = new TlsDir(tmp.resolve("host"));
        ca = CertificateAuthority.init(host, "test CA", KeyType.EC_P256, Validity.caDefault());
        ca.issueServer(List.of("localhost", "127.0.0.1"), KeyType.EC_P256, Validity.leafDefault());
        echo = new TlsEcho(TlsServer.load(host));
    }

    @AfterEach
    void stop() throws Exception {
        echo.close();
    }

    private TlsClient client(String name, Role role, Validity v) throws Exception {
        ca.issueClient(name, role, KeyType.EC_P256, v);
        return TlsClient.load(ca.exportClient(name, tmp.resolve(name)));
    }

    @Test
    void aGoodClientGetsInAndItsRoleIsRead() throws Exception {
        TlsClient alice = client("alice", Role.READ_WRITE, Validity.leafDefault());
        assertThat(echo.ask(alice, "127.0.0.1", "hi")).isEqualTo("READ_WRITE alice TLSv1.3 hi");
        Identity seen = (Identity) echo.next();
        assertThat(seen.role()).isEqualTo(Role.READ_WRITE);
        assertThat(seen.role().mayModify()).isTrue();
        assertThat(seen.subject()).isEqualTo("CN=alice,OU=jvirt-read-write,O=jvirt");
        assertThat(seen.fingerprint()).isEqualTo(Identity.fingerprint(Pem.readCertificate(host.issuedCert("alice"))));
        assertThat(seen.notAfter()).isAfter(Instant.now().plus(Duration.ofDays(700)));
        // by DNS name too: the certificate lists localhost
        assertThat(echo.ask(alice, "localhost", "again")).startsWith("READ_WRITE alice");
    }

    @Test
    void aReadOnlyClientGetsInAsReadOnly() throws Exception {
        TlsClient bob = client("bob", Role.READ_ONLY, Validity.leafDefault());
        assertThat(echo.ask(bob, "127.0.0.1", "hi")).startsWith("READ_ONLY bob");
        Identity seen = (Identity) echo.next();
        assertThat(seen.role()).isEqualTo(Role.READ_ONLY);
        assertThat(seen.role().mayModify()).isFalse();
    }

    @Test
    void noClientCertificateIsRefused() throws Exception {
        TlsClient anonymous = TlsClient.load(host, null, null);
        assertThatThrownBy(() -> echo.ask(anonymous, "127.0.0.1", "hi"))
                .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.NO_CLIENT_CERTIFICATE))
                .hasMessageContaining("requires a client certificate");
        assertThat(((TlsFailure) echo.next()).reason()).isEqualTo(TlsFailure.Reason.NO_CLIENT_CERTIFICATE);
        // and the CLI's loader says so before connecting when the files are missing
        assertThatThrownBy(() -> TlsClient.load(new TlsDir(tmp.resolve("empty"))))
                .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.NO_CLIENT_CERTIFICATE))
                .hasMessageContaining("JVIRT_TLS_DIR");
    }

    @Test
    void aClientOfAnotherCaIsRefused() throws Exception {
        TlsDir otherDir = new TlsDir(tmp.resolve("other"));
        CertificateAuthority other = CertificateAuthority.init(otherDir, "other CA", KeyType.EC_P256, Validity.caDefault());
        other.issueClient("mallory", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        // mallory trusts our server (has our ca.pem) but her certificate is from her own CA
        TlsClient mallory = TlsClient.load(host, otherDir.issuedCert("mallory"), otherDir.issuedKey("mallory"));
        assertThatThrownBy(() -> echo.ask(mallory, "127.0.0.1", "hi"))
                .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.CLIENT_CERTIFICATE_REFUSED))
                .hasMessageContaining("is not issued by the CA in");
        // the JDK's client does not even offer a certificate whose issuer the server does not list
        assertThat(((TlsFailure) echo.next()).reason()).isEqualTo(TlsFailure.Reason.NO_CLIENT_CERTIFICATE);

        // OpenSSL sends it anyway: the server refuses it as not issued by its CA
        // (stdin is /dev/null: s_client ends after the handshake, the server judges the certificate meanwhile)
        Command.Result r = Command.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + echo.port(), "-tls1_3",
                "-CAfile", host.caCert().toString(), "-cert", otherDir.issuedCert("mallory").toString(),
                "-key", otherDir.issuedKey("mallory").toString(), "-verify_return_error"), 20);
        assertThat(r.output()).contains("CONNECTED");
        assertThat(((TlsFailure) echo.next()).reason()).isEqualTo(TlsFailure.Reason.UNKNOWN_CA);
    }

    @Test
    void anExpiredClientIsRefused() throws Exception {
        Instant now = Instant.now();
        TlsClient old = client("old", Role.READ_WRITE, new Validity(now.minus(Duration.ofDays(3)), now.minus(Duration.ofDays(1))));
        assertThatThrownBy(() -> echo.ask(old, "127.0.0.1", "hi"))
                .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.CLIENT_CERTIFICATE_EXPIRED))
                .hasMessageContaining("expired");
        assertThat(((TlsFailure) echo.next()).reason()).isEqualTo(TlsFailure.Reason.EXPIRED);
    }

    @Test
    void aRevokedClientAndOneWithoutRoleAreRefused() throws Exception {
        TlsClient bob = client("bob", Role.READ_ONLY, Validity.leafDefault());
        Files.writeString(host.revoked(), "# bob left\n" + Identity.fingerprint(Pem.readCertificate(host.issuedCert("bob"))) + "\n");
        echo.close();
        echo = new TlsEcho(TlsServer.load(host));
        assertThatThrownBy(() -> echo.ask(bob, "127.0.0.1", "hi"))
                .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.CLIENT_CERTIFICATE_REFUSED));
        TlsFailure seen = (TlsFailure) echo.next();
        assertThat(seen.reason()).isEqualTo(TlsFailure.Reason.NOT_ALLOWED);
        assertThat(seen.getMessage()).contains("revoked");

        // a certificate from our CA, for clientAuth, but without a jvirt role (made with openssl, as an admin might)
        Path key = tmp.resolve("norole-key.pem");
        Path csr = tmp.resolve("norole.csr");
        Path cert = tmp.resolve("norole.pem");
        Path ext = tmp.resolve("ext.cnf");
        Files.writeString(ext, "extendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n");
        Command.ok("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-subj", "/O=jvirt/CN=norole", "-out", csr.toString());
        Command.ok("openssl", "x509", "-req", "-in", csr.toString(), "-CA", host.caCert().toString(), "-CAkey",
                host.caKey().toString(), "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", cert.toString());
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        TlsClient noRole = TlsClient.load(host, cert, key);
        assertThatThrownBy(() -> echo.ask(noRole, "127.0.0.1", "hi")).isInstanceOf(TlsFailure.class);
        TlsFailure refused = (TlsFailure) echo.next();
        assertThat(refused.reason()).isEqualTo(TlsFailure.Reason.NOT_ALLOWED);
        assertThat(refused.getMessage()).contains("carries no jvirt role");
    }

    @Test
    void theClientChecksTheServer() throws Exception {
        TlsClient alice = client("alice", Role.READ_WRITE, Validity.leafDefault());
        // wrong host: the certificate names only host1.example
        ca.issueServer(List.of("host1.example"), KeyType.EC_P256, Validity.leafDefault());
        try (TlsEcho named = new TlsEcho(TlsServer.load(host))) {
            assertThatThrownBy(() -> named.ask(alice, "127.0.0.1", "hi"))
                    .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.WRONG_HOST))
                    .hasMessageContaining("not valid for that name");
        }
        // expired server certificate
        Instant now = Instant.now();
        ca.issueServer(List.of("127.0.0.1"), KeyType.EC_P256, new Validity(now.minus(Duration.ofDays(3)), now.minus(Duration.ofDays(1))));
        try (TlsEcho expired = new TlsEcho(TlsServer.load(host))) {
            assertThatThrownBy(() -> expired.ask(alice, "127.0.0.1", "hi"))
                    .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.EXPIRED));
        }
        // a server of another CA
        TlsDir otherDir = new TlsDir(tmp.resolve("other"));
        CertificateAuthority.init(otherDir, "other CA", KeyType.EC_P256, Validity.caDefault())
                .issueServer(List.of("127.0.0.1"), KeyType.EC_P256, Validity.leafDefault());
        try (TlsEcho impostor = new TlsEcho(TlsServer.load(otherDir))) {
            assertThatThrownBy(() -> impostor.ask(alice, "127.0.0.1", "hi"))
                    .isInstanceOfSatisfying(TlsFailure.class, f -> assertThat(f.reason()).as(f.getMessage()).isEqualTo(TlsFailure.Reason.UNKNOWN_CA))
                    .hasMessageContaining("not issued by the CA in");
        }
    }

    @Test
    void plainBytesAndOldProtocolsAreRefused() throws Exception {
        byte[] answer = echo.sendPlain("POST /v1/vms/x/destroy HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/");
        assertThat(((TlsFailure) echo.next()).reason()).isEqualTo(TlsFailure.Reason.NOT_TLS);

        TlsClient alice = client("alice", Role.READ_WRITE, Validity.leafDefault());
        SSLContext ctx = alice.context();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", echo.port())) {
            s.setEnabledProtocols(new String[] {"TLSv1.2"});
            assertThatThrownBy(s::startHandshake).satisfies(e ->
                    assertThat(alice.explain((java.io.IOException) e, "x").reason()).isEqualTo(TlsFailure.Reason.PROTOCOL));
        }
        assertThat(((TlsFailure) echo.next()).reason()).isEqualTo(TlsFailure.Reason.PROTOCOL);
    }

    @Test
    void aKeyOthersCanReadIsNotUsed() throws Exception {
        ca.issueClient("carol", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        TlsDir carol = ca.exportClient("carol", tmp.resolve("carol"));
        Files.setPosixFilePermissions(carol.clientKey(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> TlsClient.load(carol)).hasMessageContaining("chmod 600");
        // and a key that is not the certificate's
        Files.setPosixFilePermissions(carol.clientKey(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Files.copy(host.serverKey(), carol.clientKey(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> TlsClient.load(carol)).hasMessageContaining("is not the private key of");
    }
}
