import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * API latency with many open event streams, against a running jvirtd (bench/streams.sh starts it):
 * {@code GET /v1/vms} p50/p99 (a new connection per call, as the CLI makes) with no stream open, then with N
 * {@code GET /v1/events} streams open on real Unix-socket connections, and the daemon's RSS before and after.
 *
 * <p>Run: {@code java bench/StreamsBench.java SOCKET DAEMON_PID STREAMS CALLS}. Prints "key value" lines.
 * A call or stream that gets no answer within 10 s is counted, not waited for.
 */
public class StreamsBench {
    static Path socket;

    public static void main(String[] args) throws Exception {
        socket = Path.of(args[0]);
        long pid = Long.parseLong(args[1]);
        int streams = Integer.parseInt(args[2]);
        int calls = Integer.parseInt(args[3]);

        latencies("warmup", calls); // JIT of the daemon's request path, not reported in the summary
        latencies("none", calls);
        Thread.sleep(2000);
        out("rss_kb_no_streams", rssKb(pid));

        List<SocketChannel> open = new ArrayList<>();
        int answered = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < streams; i++) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            open.add(ch);
            write(ch, "GET /v1/events HTTP/1.1\r\nHost: jvirt\r\n\r\n");
            if (readUntil(ch, "jvirtd events", answered == i ? 10_000 : 100) != null) {
                answered++;
            }
        }
        out("streams_requested", streams);
        out("streams_answered", answered);
        out("streams_open_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        latencies("with_streams", calls);
        Thread.sleep(3000);
        out("rss_kb_with_streams", rssKb(pid));
        for (SocketChannel ch : open) {
            ch.close();
        }
    }

    static void latencies(String label, int calls) throws Exception {
        long[] ns = new long[calls];
        int failed = 0;
        for (int i = 0; i < calls; i++) {
            long t = System.nanoTime();
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(socket));
                write(ch, "GET /v1/vms HTTP/1.1\r\nHost: jvirt\r\nConnection: close\r\n\r\n");
                String r = readUntil(ch, "\r\n\r\n", 10_000);
                if (r == null || !r.startsWith("HTTP/1.1 200")) {
                    failed++;
                }
            }
            ns[i] = System.nanoTime() - t;
            if (failed > 2) {
                ns = Arrays.copyOf(ns, i + 1);
                break; // starved: no point in waiting 10 s per call
            }
        }
        long[] s = ns.clone();
        Arrays.sort(s);
        out("list_" + label + "_calls", s.length);
        out("list_" + label + "_unanswered_10s", failed);
        out("list_" + label + "_p50_ms", String.format(Locale.ROOT, "%.2f", s[(int) Math.ceil(0.50 * s.length) - 1] / 1e6));
        out("list_" + label + "_p99_ms", String.format(Locale.ROOT, "%.2f", s[(int) Math.ceil(0.99 * s.length) - 1] / 1e6));
    }

    static void write(SocketChannel ch, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** What arrived until {@code marker}, or null after {@code ms} without it. */
    static String readUntil(SocketChannel ch, String marker, long ms) throws Exception {
        CompletableFuture<String> f = CompletableFuture.supplyAsync(() -> {
            StringBuilder sb = new StringBuilder();
            ByteBuffer b = ByteBuffer.allocate(4096);
            try {
                while (sb.indexOf(marker) < 0) {
                    b.clear();
                    if (ch.read(b) < 0) {
                        return sb.indexOf(marker) < 0 ? null : sb.toString();
                    }
                    sb.append(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
                }
            } catch (IOException e) {
                return null;
            }
            return sb.toString();
        }, Thread::startVirtualThread);
        try {
            return f.get(ms, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    static void out(String key, Object value) {
        System.out.println(key + " " + value);
    }
}
