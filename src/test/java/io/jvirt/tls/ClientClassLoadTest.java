package io.jvirt.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.pki.CertificateAuthority;
import io.jvirt.pki.KeyType;
import io.jvirt.pki.Validity;
import io.jvirt.testing.Command;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's TLS path stays cheap: a fresh JVM that loads a client directory and completes a handshake with a
 * jvirt server loads no BouncyCastle and no Jetty class. The class count is printed for the record.
 */
class ClientClassLoadTest {
    @TempDir
    Path tmp;

    /** What the child JVM runs: {@code TlsClient.load(dir)} then one request and its answer. */
    public static void main(String[] args) throws Exception {
        TlsClient c = TlsClient.load(new TlsDir(Path.of(args[0])));
        try (var s = c.connect("127.0.0.1", Integer.parseInt(args[1]), java.time.Duration.ofSeconds(10))) {
            s.getOutputStream().write("ping\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            System.out.println("answer: " + new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream())).readLine());
        }
    }

    @Test
    void theTlsClientLoadsNeitherBouncyCastleNorJetty() throws Exception {
        TlsDir host = new TlsDir(tmp.resolve("host"));
        CertificateAuthority ca = CertificateAuthority.init(host, "test CA", KeyType.EC_P256, Validity.caDefault());
        ca.issueServer(List.of("127.0.0.1"), KeyType.EC_P256, Validity.leafDefault());
        ca.issueClient("alice", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        Path client = ca.exportClient("alice", tmp.resolve("alice")).dir();
        try (TlsEcho echo = new TlsEcho(TlsServer.load(host))) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Command.Result r = Command.run(List.of(java, "-Xshare:auto", "-Xlog:class+load=info:stdout",
                    "-cp", System.getProperty("java.class.path"), ClientClassLoadTest.class.getName(),
                    client.toString(), Integer.toString(echo.port())), 60).requireSuccess(List.of("java"));
            List<String> loaded = r.output().lines().filter(l -> l.contains("[class,load]")).toList();
            assertThat(r.output()).contains("answer: READ_WRITE alice TLSv1.3 ping");
            assertThat(loaded).noneMatch(l -> l.contains("org.bouncycastle")).noneMatch(l -> l.contains("org.eclipse.jetty"));
            long jvirt = loaded.stream().filter(l -> l.contains(" io.jvirt.")).count();
            System.out.println("TLS client JVM loaded " + loaded.size() + " classes (" + jvirt + " of jvirt)");
            assertThat(jvirt).isLessThan(15);
        }
    }
}
