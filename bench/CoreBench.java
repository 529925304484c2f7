import io.jvirt.qmp.QmpClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The core issue's benchmarks against a running jvirtd (bench/run-core.sh starts it):
 * start latency (API -> running, -> guest marker) vs the same QEMU command by hand, info/list latency over one
 * keep-alive connection with 1 and 100 VMs, 10 parallel starts, daemon RSS with 10 VMs running.
 *
 * <p>Run: {@code java -cp target/jvirt.jar bench/CoreBench.java SOCKET DAEMON_PID STATE_DIR GUEST_DIR RUNS}.
 * Prints "key value" lines that run-core.sh collects into its summary.
 */
public class CoreBench {
    static final String MARKER = "JVIRT-GUEST-READY";

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        long daemonPid = Long.parseLong(args[1]);
        Path stateDir = Path.of(args[2]);
        Path guest = Path.of(args[3]);
        int runs = Integer.parseInt(args[4]);

        try (Http api = new Http(socket)) {
            define(api, "b0", guest);

            // ---- start latency through the API --------------------------------------------------------------
            double[] toRunning = new double[runs];
            double[] toMarker = new double[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                Http.Response r = api.send("POST", "/v1/vms/b0/start?wait=true", null);
                long t1 = System.nanoTime();
                check(r, 200);
                try (Http console = new Http(socket)) {
                    console.streamUntil("/v1/vms/b0/console?follow=true", MARKER);
                }
                long t2 = System.nanoTime();
                toRunning[i] = ms(t1 - t0);
                toMarker[i] = ms(t2 - t0);
                check(api.send("POST", "/v1/vms/b0/destroy", null), 200);
            }
            report("start_api_running_ms", toRunning);
            report("start_api_marker_ms", toMarker);

            // ---- the same QEMU command line by hand ---------------------------------------------------------
            List<String> cmd = lastCommandLine(stateDir.resolve("owners/b0/qemu.log"));
            Path qmpSocket = Path.of(option(cmd, "id=monitor,path="));
            Path consoleSocket = Path.of(option(cmd, "id=serial0,path="));
            double[] handRunning = new double[runs];
            double[] handMarker = new double[runs];
            for (int i = 0; i < runs; i++) {
                Files.deleteIfExists(qmpSocket);
                Files.deleteIfExists(consoleSocket);
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                try (QmpClient qmp = QmpClient.connect(qmpSocket, Duration.ofSeconds(30))) {
                    qmp.execute("cont");
                    long t1 = System.nanoTime();
                    readUntil(consoleSocket, MARKER);
                    long t2 = System.nanoTime();
                    handRunning[i] = ms(t1 - t0);
                    handMarker[i] = ms(t2 - t0);
                } finally {
                    p.destroyForcibly();
                    p.waitFor();
                }
            }
            report("start_hand_running_ms", handRunning);
            report("start_hand_marker_ms", handMarker);

            // ---- API latency, 1 VM then 100 VMs ----------------------------------------------------------------
            latency(api, "1vm");
            for (int i = 1; i < 100; i++) {
                define(api, "b" + i, guest);
            }
            latency(api, "100vm");
            for (int i = 1; i < 100; i++) {
                check(api.send("DELETE", "/v1/vms/b" + i, null), 200);
            }

            // ---- 10 parallel starts, RSS with 10 running ----------------------------------------------------
            for (int i = 0; i < 10; i++) {
                define(api, "p" + i, guest);
            }
            ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            List<Future<Long>> done = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < 10; i++) {
                String vm = "p" + i;
                done.add(pool.submit((Callable<Long>) () -> {
                    try (Http own = new Http(socket)) {
                        check(own.send("POST", "/v1/vms/" + vm + "/start?wait=true", null), 200);
                        return System.nanoTime();
                    }
                }));
            }
            long last = 0;
            try {
                for (Future<Long> f : done) {
                    last = Math.max(last, f.get());
                }
            } finally {
                pool.shutdown();
            }
            System.out.printf(Locale.ROOT, "parallel10_start_wall_ms %.1f%n", ms(last - t0));
            Thread.sleep(5000); // let the guests boot and the daemon settle
            System.out.println("daemon_rss_10vms_kb " + rssKb(daemonPid));
            for (int i = 0; i < 10; i++) {
                check(api.send("POST", "/v1/vms/p" + i + "/destroy", null), 200);
                check(api.send("DELETE", "/v1/vms/p" + i, null), 200);
            }
            check(api.send("DELETE", "/v1/vms/b0", null), 200);
        }
    }

    static void latency(Http api, String label) throws IOException {
        for (int i = 0; i < 2000; i++) {
            check(api.send("GET", "/v1/vms/b0", null), 200);
            check(api.send("GET", "/v1/vms", null), 200);
        }
        double[] info = new double[10_000];
        for (int i = 0; i < info.length; i++) {
            long t0 = System.nanoTime();
            Http.Response r = api.send("GET", "/v1/vms/b0", null);
            info[i] = ms(System.nanoTime() - t0);
            check(r, 200);
        }
        double[] list = new double[10_000];
        for (int i = 0; i < list.length; i++) {
            long t0 = System.nanoTime();
            Http.Response r = api.send("GET", "/v1/vms", null);
            list[i] = ms(System.nanoTime() - t0);
            check(r, 200);
        }
        percentiles("info_" + label, info);
        percentiles("list_" + label, list);
    }

    static void define(Http api, String name, Path guest) throws IOException {
        String body = """
                {"name":"%s","memoryMiB":128,"vcpus":1,
                 "boot":{"kernel":"%s","initrd":"%s","cmdline":"console=ttyS0"}}"""
                .formatted(name, guest.resolve("vmlinux"), guest.resolve("initrd.img"));
        check(api.send("POST", "/v1/vms", body), 201);
    }

    /** The command line the daemon recorded for the VM's last start (the line after "starting up"). */
    static List<String> lastCommandLine(Path qemuLog) throws IOException {
        List<String> lines = Files.readAllLines(qemuLog);
        String line = null;
        for (int i = 0; i < lines.size() - 1; i++) {
            if (lines.get(i).endsWith("starting up")) {
                line = lines.get(i + 1);
            }
        }
        if (line == null) {
            throw new IllegalStateException("no command line in " + qemuLog);
        }
        List<String> words = new ArrayList<>(Arrays.asList(line.trim().split(" ")));
        while (!words.isEmpty() && words.get(0).contains("=") && !words.get(0).startsWith("-")) {
            words.remove(0); // LC_ALL=C PATH=...: environment, not arguments
        }
        return words;
    }

    static String option(List<String> cmd, String prefix) {
        for (String w : cmd) {
            int at = w.indexOf(prefix);
            if (at >= 0) {
                String rest = w.substring(at + prefix.length());
                int comma = rest.indexOf(',');
                return comma < 0 ? rest : rest.substring(0, comma);
            }
        }
        throw new IllegalStateException("no " + prefix + " in the command line");
    }

    /** Connects to a QEMU serial socket (retrying while it appears) and reads until {@code text}. */
    static void readUntil(Path socket, String text) throws IOException, InterruptedException {
        SocketChannel ch = null;
        for (int i = 0; i < 3000 && ch == null; i++) {
            try {
                ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                Thread.sleep(1);
            }
        }
        if (ch == null) {
            throw new IOException("cannot connect to " + socket);
        }
        try (SocketChannel c = ch) {
            StringBuilder seen = new StringBuilder();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (seen.indexOf(text) < 0) {
                buf.clear();
                if (c.read(buf) < 0) {
                    throw new IOException("console closed before " + text);
                }
                seen.append(new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1));
                if (seen.length() > 1 << 20) {
                    seen.delete(0, seen.length() - text.length());
                }
            }
        }
    }

    static long rssKb(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    static void report(String key, double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        System.out.printf(Locale.ROOT, "%s %.1f (median of %d; min %.1f, max %.1f)%n", key, s[s.length / 2], s.length,
                s[0], s[s.length - 1]);
    }

    static void percentiles(String key, double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        System.out.printf(Locale.ROOT, "%s_p50_ms %.3f%n%s_p99_ms %.3f%n", key, s[s.length / 2], key,
                s[(int) (s.length * 0.99)]);
    }

    static void check(Http.Response r, int status) {
        if (r.status() != status) {
            throw new IllegalStateException("HTTP " + r.status() + ": " + r.body());
        }
    }

    /** A minimal HTTP/1.1 client over one keep-alive Unix socket connection, so the client adds little. */
    static final class Http implements AutoCloseable {
        record Response(int status, String body) {
        }

        private final SocketChannel ch;
        private final ByteBuffer in = ByteBuffer.allocate(1 << 20);

        Http(Path socket) throws IOException {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            in.flip();
        }

        Response send(String method, String path, String body) throws IOException {
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: jvirtd\r\nContent-Length: " + b.length
                    + (b.length > 0 ? "\r\nContent-Type: application/json" : "") + "\r\n\r\n";
            ByteBuffer out = ByteBuffer.allocate(head.length() + b.length);
            out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(b).flip();
            while (out.hasRemaining()) {
                ch.write(out);
            }
            String status = line();
            int code = Integer.parseInt(status.split(" ")[1]);
            int length = -1;
            boolean chunked = false;
            for (String h; !(h = line()).isEmpty(); ) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Integer.parseInt(lower.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                }
            }
            ByteArrayOutputStream bodyOut = new ByteArrayOutputStream();
            if (chunked) {
                for (int n; (n = Integer.parseInt(line().trim(), 16)) > 0; ) {
                    bodyOut.write(bytes(n));
                    line();
                }
                line();
            } else if (length > 0) {
                bodyOut.write(bytes(length));
            }
            return new Response(code, bodyOut.toString(StandardCharsets.UTF_8));
        }

        /**
         * GET the console stream and read until {@code text} appears (across chunks), then drop the connection.
         * Gives up after 120 s, saying what it saw.
         */
        void streamUntil(String path, String text) throws IOException {
            String head = "GET " + path + " HTTP/1.1\r\nHost: jvirtd\r\n\r\n";
            ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
            StringBuilder seen = new StringBuilder();
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(120_000);
                    ch.close();
                } catch (InterruptedException | IOException e) {
                    // done in time
                }
            });
            try {
                boolean chunked = false;
                int length = -1;
                for (String h; !(h = line()).isEmpty(); ) {
                    String lower = h.toLowerCase(Locale.ROOT);
                    chunked |= lower.startsWith("transfer-encoding:") && lower.contains("chunked");
                    if (lower.startsWith("content-length:")) {
                        length = Integer.parseInt(lower.substring(15).trim());
                    }
                }
                if (!chunked) { // the VM was not running (yet): the answer is the log so far, and complete
                    seen.append(new String(bytes(Math.max(length, 0)), StandardCharsets.ISO_8859_1));
                    if (seen.indexOf(text) < 0) {
                        throw new IOException("the console was not live; it held: " + tail(seen));
                    }
                    return;
                }
                while (seen.indexOf(text) < 0) {
                    int n = Integer.parseInt(line().trim(), 16);
                    if (n == 0) {
                        throw new IOException("the console ended before " + text + ": " + tail(seen));
                    }
                    seen.append(new String(bytes(n), StandardCharsets.ISO_8859_1));
                    line();
                }
            } catch (IOException e) {
                throw new IOException(e.getMessage() + " (saw: " + tail(seen) + ")", e);
            } finally {
                watchdog.interrupt();
            }
        }

        private static String tail(StringBuilder s) {
            return s.substring(Math.max(0, s.length() - 300));
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (!in.hasRemaining()) {
                    fill();
                }
                char c = (char) in.get();
                if (c == '\n') {
                    int n = sb.length();
                    return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
                }
                sb.append(c);
            }
        }

        private byte[] bytes(int n) throws IOException {
            byte[] b = new byte[n];
            int off = 0;
            while (off < n) {
                if (!in.hasRemaining()) {
                    fill();
                }
                int k = Math.min(n - off, in.remaining());
                in.get(b, off, k);
                off += k;
            }
            return b;
        }

        private void fill() throws IOException {
            in.compact();
            int r = ch.read(in);
            in.flip();
            if (r < 0) {
                throw new IOException("connection closed");
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
