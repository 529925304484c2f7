package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.cli.JvirtCli;
import io.jvirt.pki.CertificateAuthority;
import io.jvirt.pki.KeyType;
import io.jvirt.pki.Validity;
import io.jvirt.testing.Command;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.tls.Role;
import io.jvirt.tls.TlsDir;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Remote access over real mutual TLS: certificates made by {@code jvirt pki} (checked by {@code openssl verify}),
 * a jvirtd listening on {@code tls://127.0.0.1:0}, the CLI with {@code --connect}, and curl as the documented
 * example. Who gets in, and what each refused party is told.
 */
class TlsAccessTest {
    static Path root;
    static Path ca;
    static DaemonProcess daemon;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("jvirt-tls-test-");
        ca = root.resolve("ca");
        cli(0, "pki", "init", "--dir", ca.toString());
        cli(0, "pki", "issue-server", "--dir", ca.toString(), "localhost", "127.0.0.1");
        cli(0, "pki", "issue-client", "--dir", ca.toString(), "alice", "--out", root.resolve("alice").toString());
        cli(0, "pki", "issue-client", "--dir", ca.toString(), "bob", "--read-only", "--out", root.resolve("bob").toString());
        daemon = DaemonProcess.startNew("--listen", "tls://127.0.0.1:0", "--tls-dir", ca.toString());
        url = "tls://127.0.0.1:" + daemon.tlsPort();
        assertThat(daemon.tlsPort()).isPositive();
        assertThat(Files.readString(daemon.log())).contains("tls://127.0.0.1:" + daemon.tlsPort());
        assertThat(daemon.http().post("/v1/vms", TestGuest.definition("remote")).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (root != null) {
            Command.run(List.of("rm", "-rf", root.toString()));
        }
    }

    record Run(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return new ObjectMapper().readTree(out);
        }
    }

    static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = JvirtCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Run cli(int expectedExit, String... args) {
        Run r = cli(args);
        assertThat(r.exit()).as(String.join(" ", args) + "\n" + r).isEqualTo(expectedExit);
        return r;
    }

    static Run remote(String client, String... args) {
        List<String> full = new ArrayList<>(List.of("--connect", url, "--tls-dir", root.resolve(client).toString()));
        full.addAll(List.of(args));
        return cli(full.toArray(new String[0]));
    }

    @Test
    void pkiOutputIsAcceptedByOpenssl() {
        for (Path cert : List.of(ca.resolve("server.pem"), ca.resolve("clients/alice.pem"),
                root.resolve("bob/client.pem"))) {
            Command.Result r = Command.run(List.of("openssl", "verify", "-CAfile", ca.resolve("ca.pem").toString(),
                    cert.toString()));
            assertThat(r.exit()).as(r.output()).isZero();
            assertThat(r.output()).contains(": OK");
        }
        assertThat(Command.ok("openssl", "x509", "-noout", "-subject", "-in", root.resolve("bob/client.pem").toString()))
                .contains("OU = jvirt-read-only");
    }

    @Test
    void aGoodClientWorksByAddressAndByName() throws Exception {
        Run list = remote("alice", "-o", "json", "list");
        assertThat(list.exit()).as(list.toString()).isZero();
        assertThat(list.json().findValuesAsText("name")).contains("remote");
        url = url.replace("127.0.0.1", "localhost");
        try {
            assertThat(remote("alice", "info", "remote").exit()).isZero();
        } finally {
            url = url.replace("localhost", "127.0.0.1");
        }
        // the read-only certificate reads too, the host's facts included
        assertThat(remote("bob", "list").exit()).isZero();
        Run node = remote("bob", "nodeinfo");
        assertThat(node.exit()).as(node.toString()).isZero();
        assertThat(node.out()).contains("Confinement").contains("QEMU runs as a uid of its own per VM");
    }

    @Test
    void aReadOnlyCertificateCannotStartAVm() throws Exception {
        Run r = remote("bob", "start", "remote");
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).contains("may only read").contains("bob");
        assertThat(daemon.http().get("/v1/vms/remote").json().path("state").asText()).isEqualTo("shutoff");
        Run undefine = remote("bob", "undefine", "remote");
        assertThat(undefine.exit()).isEqualTo(1);
        assertThat(daemon.http().get("/v1/vms/remote").status()).isEqualTo(200);
    }

    @Test
    void theRemoteCliLoadsNeitherBouncyCastleNorJetty() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Command.Result r = Command.run(List.of(java, "-Xlog:class+load=info:stdout", "-cp",
                System.getProperty("java.class.path"), "io.jvirt.cli.JvirtCli", "--connect", url, "--tls-dir",
                root.resolve("alice").toString(), "list"), 60);
        assertThat(r.exit()).as(r.output().lines().filter(l -> !l.contains("[class,load]")).toList().toString()).isZero();
        assertThat(r.output()).contains("remote");
        List<String> loaded = r.output().lines().filter(l -> l.contains("[class,load]")).toList();
        assertThat(loaded).noneMatch(l -> l.contains("org.bouncycastle")).noneMatch(l -> l.contains("org.eclipse.jetty"));
    }

    @Test
    void aHostCertificateIsReadWrite() throws Exception {
        // the daemon-to-daemon identity of live migration: the host certificate used as a client certificate
        Path host = Files.createDirectories(root.resolve("peer"));
        Files.copy(ca.resolve("ca.pem"), host.resolve("ca.pem"));
        Files.copy(ca.resolve("server.pem"), host.resolve("client.pem"));
        Files.copy(ca.resolve("server-key.pem"), host.resolve("client-key.pem"));
        io.jvirt.files.FileModes.setMode(host.resolve("client-key.pem"), 0600);
        assertThat(remote("peer", "list").exit()).isZero();
        Run suspend = remote("peer", "suspend", "remote"); // allowed, refused only for the VM's state
        assertThat(suspend.exit()).as(suspend.toString()).isEqualTo(4);
        assertThat(suspend.err()).doesNotContain("may only read");
    }

    @Test
    void noCertificateIsRefused() throws Exception {
        // the CLI says so before connecting
        Path empty = Files.createDirectories(root.resolve("nocert"));
        Files.copy(ca.resolve("ca.pem"), empty.resolve("ca.pem"));
        Run r = remote("nocert", "list");
        assertThat(r.exit()).isEqualTo(5);
        assertThat(r.err()).contains("no this client's certificate").contains("jvirt pki issue-client");
        // and the daemon refuses a client that offers none (curl, TLS 1.3)
        Command.Result curl = curl(List.of(), "/v1/vms");
        assertThat(curl.exit()).as(curl.output()).isNotZero();
        assertThat(curl.output()).doesNotContain("remote");
    }

    @Test
    void aCertificateOfAnotherCaIsRefused() throws Exception {
        TlsDir other = new TlsDir(root.resolve("other-ca"));
        CertificateAuthority otherCa = CertificateAuthority.init(other, "other CA", KeyType.EC_P256, Validity.caDefault());
        otherCa.issueClient("mallory", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        Path dir = root.resolve("mallory");
        otherCa.exportClient("mallory", dir);
        Files.copy(ca.resolve("ca.pem"), dir.resolve("ca.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Run r = remote("mallory", "list");
        assertThat(r.exit()).as(r.toString()).isEqualTo(5);
        assertThat(r.err()).contains("not issued by the CA");
    }

    @Test
    void anExpiredCertificateIsRefused() throws Exception {
        CertificateAuthority own = CertificateAuthority.open(new TlsDir(ca));
        Instant now = Instant.now();
        own.issueClient("old", Role.READ_WRITE, KeyType.EC_P256,
                new Validity(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1))));
        own.exportClient("old", root.resolve("old"));
        Run r = remote("old", "list");
        assertThat(r.exit()).as(r.toString()).isEqualTo(5);
        assertThat(r.err()).contains("expired");
    }

    @Test
    void plainHttpToTheTlsPortGetsNoAnswer() throws Exception {
        try (Socket s = new Socket("127.0.0.1", daemon.tlsPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /v1/vms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String answer;
            try {
                answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            } catch (java.net.SocketException e) {
                answer = "";
            }
            assertThat(answer).doesNotContain("remote").doesNotContain("200 OK");
        }
    }

    @Test
    void curlExampleWorksAndAWrongHostIsRefused() throws Exception {
        Path alice = root.resolve("alice");
        List<String> cert = List.of("--cert", alice.resolve("client.pem").toString(), "--key",
                alice.resolve("client-key.pem").toString());
        Command.Result ok = curl(cert, "/v1/vms");
        assertThat(ok.exit()).as(ok.output()).isZero();
        assertThat(ok.output()).contains("\"remote\"").endsWith("200");
        List<String> rebinding = new ArrayList<>(cert);
        rebinding.addAll(List.of("-H", "Host: evil.example:" + daemon.tlsPort()));
        Command.Result wrongHost = curl(rebinding, "/v1/vms");
        assertThat(wrongHost.output()).contains("misdirected-request").endsWith("421");
    }

    /** curl to the TLS listener by name (localhost), trusting only ca.pem; the status code last. */
    static Command.Result curl(List<String> extra, String path) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--cacert",
                ca.resolve("ca.pem").toString(), "-w", "\n%{http_code}"));
        cmd.addAll(extra);
        cmd.add("https://localhost:" + daemon.tlsPort() + path);
        return Command.run(cmd);
    }
}
