package io.jvirt.migration;

import io.jvirt.pki.CertificateAuthority;
import io.jvirt.pki.KeyType;
import io.jvirt.pki.Validity;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import io.jvirt.testing.TestNetns;
import io.jvirt.tls.TlsDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Two jvirt hosts on one machine: each daemon in a network namespace of its own (a veth pair between them,
 * addresses only inside: {@link #A_ADDRESS}, {@link #B_ADDRESS}), its own state dir, a host certificate from one
 * test CA, and a TLS listener on its address. close() ends both daemons and their QEMUs, deletes the namespaces
 * (TestNetns checks the host's network did not change) and every file, also when the test failed.
 */
final class TwoHosts implements AutoCloseable {
    static final String A_ADDRESS = TestNetns.INSIDE_ADDRESS;
    static final String B_ADDRESS = TestNetns.OUTSIDE_ADDRESS;
    static final int PORT = 16514;

    final TestNetns net;
    final Path dir;
    final TlsDir tlsA;
    final TlsDir tlsB;
    final CertificateAuthority ca;
    DaemonProcess a;
    DaemonProcess b;

    private TwoHosts(TestNetns net, Path dir) throws IOException {
        this.net = net;
        this.dir = dir;
        tlsA = new TlsDir(dir.resolve("tls-a"));
        tlsB = new TlsDir(dir.resolve("tls-b"));
        ca = CertificateAuthority.init(tlsA, "jvirt test CA", KeyType.EC_P256, Validity.caDefault());
        ca.issueServer(List.of(A_ADDRESS), KeyType.EC_P256, Validity.leafDefault());
        ca.issueHost(tlsB, List.of(B_ADDRESS), KeyType.EC_P256, Validity.leafDefault());
    }

    static TwoHosts start(String... extraArgs) throws IOException {
        TestNetns net = TestNetns.create("mig");
        Path dir = null;
        TwoHosts h = null;
        try {
            dir = Files.createTempDirectory("jvirt-mig-");
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            h = new TwoHosts(net, dir);
            h.a = DaemonProcess.startInNamespace(net.inside, args(h.tlsA, A_ADDRESS, extraArgs));
            h.b = DaemonProcess.startInNamespace(net.outside, args(h.tlsB, B_ADDRESS, extraArgs));
            return h;
        } catch (IOException | RuntimeException | Error e) {
            if (h != null) {
                h.close();
            } else {
                net.close();
                delete(dir);
            }
            throw e;
        }
    }

    private static String[] args(TlsDir tls, String address, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("--listen", "tls://" + address + ":" + PORT,
                "--tls-dir", tls.dir().toString(), "--no-default-network"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /**
     * The payload most cases share: VM {@code vm} defined and booted on A with a qcow2 disk in this fixture's
     * directory (visible to both hosts: shared storage), running {@code seqwriter} on it (each flushed write printed
     * as SEQ N) until SEQ 3 has shown. Returns the disk.
     */
    Path bootWritingGuest(String vm) throws IOException {
        return bootWritingGuest(vm, 0);
    }

    /**
     * As {@link #bootWritingGuest(String)}, with {@code filledMiB} of data (from 1 MiB on; the guest writes sector 0)
     * in the disk before the boot: what a storage copy must really move (empty clusters cost a mirror nothing).
     */
    Path bootWritingGuest(String vm, int filledMiB) throws IOException {
        Path disk = io.jvirt.testing.TestGuest.newDisk(dir.resolve(vm + ".qcow2"), "qcow2", "64M");
        if (filledMiB > 0) {
            io.jvirt.testing.TestGuest.run(java.util.List.of("qemu-io", "-f", "qcow2", "-c",
                    "write -P 0x5a 1M " + filledMiB + "M", disk.toString()), 60);
        }
        com.fasterxml.jackson.databind.node.ObjectNode d = io.jvirt.testing.TestGuest.definition(vm);
        d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
        TestHttp api = apiA();
        org.assertj.core.api.Assertions.assertThat(api.post("/v1/vms", d).status()).as("define on A").isEqualTo(201);
        MigrationTest.ok(api.post("/v1/vms/" + vm + "/start?wait=true"));
        try (io.jvirt.testing.ConsoleReader console = io.jvirt.testing.GuestConsole.ready(api, vm)) {
            io.jvirt.testing.GuestConsole.type(api, vm, "seqwriter /dev/vda &");
            console.await("SEQ 3", 0, io.jvirt.testing.GuestConsole.TIMEOUT);
        }
        return disk;
    }

    TestHttp apiA() {
        return a.http();
    }

    TestHttp apiB() {
        return b.http();
    }

    static String toB() {
        return "tls://" + B_ADDRESS + ":" + PORT;
    }

    static String toA() {
        return "tls://" + A_ADDRESS + ":" + PORT;
    }

    /** The last lines of both daemons' logs, for failure messages. */
    String logs() {
        StringBuilder out = new StringBuilder();
        for (DaemonProcess d : new DaemonProcess[] {a, b}) {
            try {
                List<String> lines = Files.readAllLines(d.log());
                out.append("--- ").append(d.log()).append('\n');
                lines.subList(Math.max(0, lines.size() - 25), lines.size()).forEach(l -> out.append(l).append('\n'));
            } catch (IOException e) {
                out.append(e).append('\n');
            }
        }
        return out.toString();
    }

    /** Link A's end of the veth down (a silent peer for both sides) or up again. */
    void link(boolean up) {
        net.execOk(net.inside, "ip", "link", "set", net.veth + "0", up ? "up" : "down");
    }

    private int foreignPort = -1;
    private int clientCertPort = -1;

    /**
     * A TLS server in B's namespace (openssl s_server) presenting a certificate of another CA: what a destination
     * that is not ours looks like. Started on first use, ended with the namespaces.
     */
    int foreignPort() throws IOException {
        if (foreignPort < 0) {
            TlsDir other = new TlsDir(dir.resolve("tls-other"));
            CertificateAuthority.init(other, "another CA", KeyType.EC_P256, Validity.caDefault())
                    .issueServer(List.of(B_ADDRESS), KeyType.EC_P256, Validity.leafDefault());
            foreignPort = PORT + 1;
            serve(other.serverCert(), other.serverKey(), foreignPort);
        }
        return foreignPort;
    }

    /** The same, with a certificate of our CA that has the role read-write (a client's), not host. */
    int clientCertPort() throws IOException {
        if (clientCertPort < 0) {
            var issued = ca.issueClient("alice", io.jvirt.tls.Role.READ_WRITE, KeyType.EC_P256, Validity.leafDefault());
            clientCertPort = PORT + 2;
            serve(issued.certFile(), issued.keyFile(), clientCertPort);
        }
        return clientCertPort;
    }

    private void serve(Path cert, Path key, int port) throws IOException {
        net.spawn(net.outside, "openssl", "s_server", "-quiet", "-accept", B_ADDRESS + ":" + port, "-cert", cert.toString(),
                "-key", key.toString(), "-tls1_3");
        for (int i = 0; i < 100; i++) {
            if (net.exec(net.outside, "bash", "-c", "exec 3<>/dev/tcp/" + B_ADDRESS + "/" + port).exit() == 0) {
                return;
            }
            try {
                Thread.sleep(50); // openssl binds a moment after exec; nothing else to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new AssertionError("openssl s_server did not listen on " + port);
    }

    @Override
    public void close() {
        try {
            if (a != null) {
                a.close();
            }
        } finally {
            try {
                if (b != null) {
                    b.close();
                }
            } finally {
                try {
                    net.close();
                } finally {
                    delete(dir);
                }
            }
        }
    }

    static void delete(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
