import io.jvirt.cli.ApiClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 12's benchmarks against running daemons (bench/trust.sh starts them): GET /v1/host p50/p99 on one
 * persistent connection over mutual TLS vs the Unix socket; a new connection plus its first request (TLS set-up)
 * over both; start latency (POST start?wait=true, QEMU running) of a confined daemon (per-VM uid, ACL grants,
 * setpriv, -sandbox) vs one started with --no-confine, interleaved.
 *
 * <p>Run: {@code java -cp target/jvirt.jar bench/TrustBench.java SOCK TLS_URL TLS_DIR PLAIN_SOCK GUEST_DIR DISK_DIR RUNS}.
 * Prints "key value" lines.
 */
public class TrustBench {
    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] a) throws Exception {
        Path sock = Path.of(a[0]);
        String url = a[1];
        Path tlsDir = Path.of(a[2]);
        Path plainSock = Path.of(a[3]);
        Path guest = Path.of(a[4]);
        Path disks = Path.of(a[5]);
        int runs = Integer.parseInt(a[6]);

        try (ApiClient unix = ApiClient.unixSocket(sock); ApiClient tls = ApiClient.tls(url, tlsDir)) {
            for (int i = 0; i < 300; i++) { // warm both paths (JIT, TLS session state)
                unix.get("/v1/host");
                tls.get("/v1/host");
            }
            long[] u = new long[2000];
            long[] t = new long[2000];
            for (int i = 0; i < u.length; i++) { // interleaved: both see the same load
                long t0 = System.nanoTime();
                unix.get("/v1/host");
                u[i] = System.nanoTime() - t0;
                t0 = System.nanoTime();
                tls.get("/v1/host");
                t[i] = System.nanoTime() - t0;
            }
            print("info_unix_persistent", u);
            print("info_tls_persistent", t);
        }

        long[] cu = new long[200];
        long[] ct = new long[200];
        for (int i = 0; i < cu.length; i++) {
            long t0 = System.nanoTime();
            try (ApiClient c = ApiClient.unixSocket(sock)) {
                c.get("/v1/host");
            }
            cu[i] = System.nanoTime() - t0;
            t0 = System.nanoTime();
            try (ApiClient c = ApiClient.tls(url, tlsDir)) { // connect + TLS 1.3 handshake (mutual) + first request
                c.get("/v1/host");
            }
            ct[i] = System.nanoTime() - t0;
        }
        print("new_client_first_request_unix", cu);
        print("new_client_first_request_tls", ct); // includes loading the PEM files and building the SSLContext

        // the connection alone: TLS files loaded once (as one CLI process does), then per connection connect +
        // TLS 1.3 handshake with client certificate + one request read to its end, vs the same over the Unix socket
        java.net.URI u = java.net.URI.create(url.replace("tls://", "https://"));
        io.jvirt.tls.TlsClient client = io.jvirt.tls.TlsClient.load(new io.jvirt.tls.TlsDir(tlsDir));
        byte[] req = ("GET /v1/host HTTP/1.1\r\nHost: " + u.getHost() + "\r\nConnection: close\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        long[] hu = new long[300];
        long[] ht = new long[300];
        for (int i = 0; i < hu.length; i++) {
            long t0 = System.nanoTime();
            try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(sock))) {
                ch.write(java.nio.ByteBuffer.wrap(req));
                java.nio.channels.Channels.newInputStream(ch).readAllBytes();
            }
            hu[i] = System.nanoTime() - t0;
            t0 = System.nanoTime();
            try (javax.net.ssl.SSLSocket s = client.connect(u.getHost(), u.getPort(), java.time.Duration.ofSeconds(10))) {
                s.getOutputStream().write(req);
                s.getInputStream().readAllBytes();
            }
            ht[i] = System.nanoTime() - t0;
        }
        print("connection_request_unix", hu);
        print("connection_request_tls", ht);

        try (ApiClient confined = ApiClient.unixSocket(sock); ApiClient plain = ApiClient.unixSocket(plainSock)) {
            confined.setTimeoutMillis(120_000);
            plain.setTimeoutMillis(120_000);
            define(confined, "bconf", guest, disks.resolve("bconf.qcow2"));
            define(plain, "bplain", guest, disks.resolve("bplain.qcow2"));
            long[] sc = new long[runs];
            long[] sp = new long[runs];
            for (int i = 0; i < runs; i++) {
                sc[i] = startStop(confined, "bconf");
                sp[i] = startStop(plain, "bplain");
            }
            print("start_confined", sc);
            print("start_unconfined", sp);
            Arrays.sort(sc);
            Arrays.sort(sp);
            System.out.printf(Locale.ROOT, "start_added_p50_ms %.1f%n", (sc[runs / 2] - sp[runs / 2]) / 1e6);
            confined.delete("/v1/vms/bconf");
            plain.delete("/v1/vms/bplain");
        }
    }

    static void define(ApiClient c, String name, Path guest, Path disk) throws Exception {
        new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "32M").inheritIO().start().waitFor();
        new ProcessBuilder("chmod", "600", disk.toString()).start().waitFor();
        ObjectNode d = JSON.createObjectNode();
        d.put("name", name).put("memoryMiB", 128).put("vcpus", 1).put("accel", "tcg");
        d.putObject("boot").put("kernel", guest.resolve("vmlinux").toString())
                .put("initrd", guest.resolve("initrd.img").toString()).put("cmdline", "console=ttyS0");
        d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
        c.post("/v1/vms", Map.of(), d);
    }

    /** start?wait=true (QEMU spawned, monitor connected, vCPUs running), then destroy; returns the start's time. */
    static long startStop(ApiClient c, String name) throws Exception {
        long t0 = System.nanoTime();
        JsonNode r = c.post("/v1/vms/" + name + "/start", Map.of("wait", "true"), null);
        long took = System.nanoTime() - t0;
        if (!"success".equals(r.path("status").asText())) {
            throw new IllegalStateException("start of " + name + " failed: " + r);
        }
        c.post("/v1/vms/" + name + "/destroy", Map.of(), null);
        for (int i = 0; i < 200 && !"shutoff".equals(c.get("/v1/vms/" + name).path("state").asText()); i++) {
            Thread.sleep(10); // destroy returns with the state already shutoff; this only guards a slow exit
        }
        return took;
    }

    static void print(String key, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf(Locale.ROOT, "%s p50_ms %.3f p99_ms %.3f n %d%n", key, s[s.length / 2] / 1e6,
                s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)] / 1e6, s.length);
    }
}
