package io.jvirt.pki;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.testing.Command;
import io.jvirt.tls.TlsDir;
import java.io.File;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jvirt pki's files as QEMU's tls-creds-x509 reads them (what live migration's NBD and migration streams use):
 * a qemu-nbd TLS server on one "host" and qemu-img as the TLS client on another, mutual authentication through
 * GnuTLS, with the {@code qemu/} directories jvirt pki makes.
 */
class QemuTlsCredsTest {
    @TempDir
    Path tmp;

    @Test
    void qemuAcceptsHostCertificatesBothWaysAndRefusesAnotherCa() throws Exception {
        TlsDir a = new TlsDir(tmp.resolve("host-a"));
        CertificateAuthority ca = CertificateAuthority.init(a, "test CA", KeyType.EC_P256, Validity.caDefault());
        ca.issueServer(List.of("host-a", "127.0.0.1"), KeyType.EC_P256, Validity.leafDefault());
        TlsDir b = new TlsDir(tmp.resolve("host-b"));
        ca.issueHost(b, List.of("host-b", "127.0.0.2"), KeyType.EC_P256, Validity.leafDefault());
        TlsDir other = new TlsDir(tmp.resolve("other"));
        CertificateAuthority.init(other, "other CA", KeyType.EC_P256, Validity.caDefault())
                .issueServer(List.of("127.0.0.3"), KeyType.EC_P256, Validity.leafDefault());

        Path image = tmp.resolve("disk.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "16M");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process nbd = new ProcessBuilder("qemu-nbd", "--object",
                "tls-creds-x509,id=tls0,endpoint=server,verify-peer=on,dir=" + a.qemuDir(), "--tls-creds", "tls0",
                "--persistent", "--bind", "127.0.0.1", "--port", Integer.toString(port), "--format", "qcow2",
                "--read-only", image.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("nbd.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            awaitPort(port, nbd, tmp.resolve("nbd.log"));
            Command.Result ok = info(b, port, null);
            assertThat(ok.output()).as(ok.output()).contains("virtual size: 16 MiB");
            // the server's certificate names host-a: QEMU checks the name it is told to expect
            assertThat(info(b, port, "host-a").output()).contains("virtual size: 16 MiB");
            Command.Result wrongHost = info(b, port, "host-z");
            assertThat(wrongHost.exit()).isNotZero();
            assertThat(wrongHost.output()).contains("does not match");
            // a client whose certificate and CA are another CA's: neither side accepts the other
            Command.Result refused = info(other, port, null);
            assertThat(refused.exit()).isNotZero();
            assertThat(refused.output()).doesNotContain("virtual size").containsIgnoringCase("certificate");
        } finally {
            nbd.destroyForcibly();
            nbd.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** qemu-img as a TLS client with the host's qemu/ directory, checking the server's name (127.0.0.1 by default). */
    private static Command.Result info(TlsDir client, int port, String hostname) {
        return Command.run(List.of("qemu-img", "info", "--object",
                "tls-creds-x509,id=tls0,endpoint=client,dir=" + client.qemuDir(), "--image-opts",
                "driver=raw,file.driver=nbd,file.server.type=inet,file.server.host=127.0.0.1,file.server.port=" + port
                        + ",file.tls-creds=tls0" + (hostname == null ? "" : ",file.tls-hostname=" + hostname)), 30);
    }

    private static void awaitPort(int port, Process p, Path log) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) {
                throw new AssertionError("qemu-nbd exited " + p.exitValue() + ": " + java.nio.file.Files.readString(log));
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                if (s.isConnected()) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                Thread.sleep(25); // qemu-nbd binds a moment after exec; nothing else to wait on
            }
        }
        throw new AssertionError("qemu-nbd did not listen on " + port);
    }
}
