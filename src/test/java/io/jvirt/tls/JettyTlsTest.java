package io.jvirt.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.pki.CertificateAuthority;
import io.jvirt.pki.KeyType;
import io.jvirt.pki.Validity;
import io.jvirt.testing.Command;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A throwaway Jetty 12 server with a TLS connector from {@link JettyTls}: our client, curl, and refusals. */
class JettyTlsTest {
    @TempDir
    Path tmp;
    private TlsDir host;
    private CertificateAuthority ca;
    private Server server;
    private int port;

    @BeforeEach
    void start() throws Exception {
        host = new TlsDir(tmp.resolve("host"));
        ca = CertificateAuthority.init(host, "test CA", KeyType.EC_P256, Validity.caDefault());
        ca.issueServer(List.of("localhost", "127.0.0.1"), KeyType.EC_P256, Validity.leafDefault());
        server = new Server();
        ServerConnector tls = JettyTls.connector(server, TlsServer.load(host), new HttpConfiguration(), "127.0.0.1", 0);
        server.addConnector(tls);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                String who = JettyTls.identity(request).map(i -> i.role() + " " + i.name()).orElse("nobody");
                response.setStatus(200);
                response.write(true, java.nio.ByteBuffer.wrap((who + "\n").getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        server.start();
        port = tls.getLocalPort();
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    @Test
    void ourClientIsServedAndIdentified() throws Exception {
        ca.issueClient("alice", Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
        TlsClient alice = TlsClient.load(ca.exportClient("alice", tmp.resolve("alice")));
        try (SSLSocket s = alice.connect("127.0.0.1", port, Duration.ofSeconds(10))) {
            s.getOutputStream().write(("GET /v1/host HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String response = readAll(s.getInputStream());
            assertThat(response).startsWith("HTTP/1.1 200").endsWith("READ_WRITE alice\n");
            assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
        }
    }

    @Test
    void curlWithACertificateWorksAndWithoutIsRefused() throws Exception {
        ca.issueClient("bob", Role.READ_ONLY, KeyType.EC_P256, Validity.leafDefault());
        String url = "https://localhost:" + port + "/v1/host";
        String ok = Command.ok("curl", "-sS", "--cacert", host.caCert().toString(), "--cert",
                host.issuedCert("bob").toString(), "--key", host.issuedKey("bob").toString(), url);
        assertThat(ok).isEqualTo("READ_ONLY bob\n");

        Command.Result noCert = Command.run(List.of("curl", "-sS", "--cacert", host.caCert().toString(), url), 20);
        assertThat(noCert.exit()).isNotZero();
        assertThat(noCert.output()).doesNotContain("nobody");

        Command.Result plain = Command.run(List.of("curl", "-sS", "http://127.0.0.1:" + port + "/v1/host"), 20);
        assertThat(plain.output()).doesNotContain("nobody").doesNotContain("READ_");
        Command.Result tls12 = Command.run(List.of("curl", "-sS", "--tls-max", "1.2", "--cacert", host.caCert().toString(),
                "--cert", host.issuedCert("bob").toString(), "--key", host.issuedKey("bob").toString(), url), 20);
        assertThat(tls12.exit()).isNotZero();
    }

    private static String readAll(InputStream in) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
