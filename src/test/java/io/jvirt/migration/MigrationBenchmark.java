package io.jvirt.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpClient;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * On demand (bench/migration.sh; not in the suite): an idle 256 MiB tiny guest migrated over the veth link of
 * TwoHosts, by jvirt (peer to peer, TLS) and by hand with two QEMUs and raw QMP (the floor), with and without
 * QEMU's TLS, in the same run. Medians of {@code -Dbench.runs} (default 5); the table goes to stdout and to
 * bench/results/.
 */
class MigrationBenchmark {
    static final int RUNS = Integer.getInteger("bench.runs", 5);
    /** {@code -Dbench.dirty=false} skips the memory-dirtying runs (a quicker idle-only comparison). */
    static final boolean DIRTY = !"false".equals(System.getProperty("bench.dirty"));

    /** guestDownMs: the source QEMU's STOP to the destination QEMU's RESUME, by QEMU's event timestamps. */
    record Sample(long wallMs, long totalMs, long downtimeMs, long guestDownMs) {
    }

    /** The last {@code what at INSTANT} of a daemon's log. */
    private static java.time.Instant lastInstant(io.jvirt.testing.DaemonProcess d, String what) throws IOException {
        java.time.Instant at = null;
        for (String l : Files.readAllLines(d.log())) {
            int i = l.indexOf(what + " at ");
            if (i >= 0) {
                at = java.time.Instant.parse(l.substring(i + what.length() + 4).trim().split("\\s")[0]);
            }
        }
        if (at == null) {
            throw new AssertionError("no '" + what + "' in " + d.log());
        }
        return at;
    }

    /**
     * jvirt's wall time split by phase, from the source daemon's log lines {@code migration ID of VM: PHASE at N ms}
     * (ms since the migration's watch started, right after Begin recorded {@code begin}) and {@code now runs on ...
     * (N ms)}: begin = request to watch start (HTTP, checks, peer TLS connect), prepare = destination defines and
     * starts QEMU -incoming, perform = capabilities, TLS object, migrate to completed, finish = Finish round trip,
     * confirm = ending the source QEMU, undefining.
     */
    record Phases(long begin, long prepare, long perform, long finish, long confirm) {
    }

    static final List<Phases> PHASES = new ArrayList<>();
    /** Per run: the destination's Prepare/Finish steps ({@code incoming migration ID of VM: STEP at N ms}). */
    static final List<Map<String, Long>> TARGET_STEPS = new ArrayList<>();
    /** Per run: the source's finer lines ({@code (what) at N ms}, begin checks / peer connect). */
    static final List<Map<String, Long>> SOURCE_MARKS = new ArrayList<>();

    private static Map<String, Long> targetSteps(io.jvirt.testing.DaemonProcess dest) throws IOException {
        return targetSteps(dest, "bench");
    }

    private static Map<String, Long> targetSteps(io.jvirt.testing.DaemonProcess dest, String vm) throws IOException {
        Map<String, Long> at = new java.util.LinkedHashMap<>();
        var step = java.util.regex.Pattern.compile("incoming migration (\\S+) of " + vm + ": (.+) at (\\d+) ms");
        String last = null;
        for (String l : Files.readAllLines(dest.log())) {
            var mm = step.matcher(l);
            if (mm.find()) {
                if (!mm.group(1).equals(last)) {
                    at.clear();
                    last = mm.group(1);
                }
                at.put(mm.group(2), Long.parseLong(mm.group(3)));
            }
        }
        return new java.util.LinkedHashMap<>(at);
    }

    private static Map<String, Long> sourceMarks(io.jvirt.testing.DaemonProcess source) throws IOException {
        Map<String, Long> at = new java.util.LinkedHashMap<>();
        var mark = java.util.regex.Pattern.compile("migration (\\S+) of bench: \\((.+)\\) at (\\d+) ms");
        var begin = java.util.regex.Pattern.compile("migration (\\S+) of bench: begin checks (\\d+) ms, peer connected in (\\d+) ms");
        var peer = java.util.regex.Pattern.compile("peer \\S+: credentials loaded in (\\d+) ms, connected .* in (\\d+) ms");
        String last = null;
        long[] connect = {0, 0};
        for (String l : Files.readAllLines(source.log())) {
            var mp = peer.matcher(l);
            if (mp.find()) {
                connect[0] = Long.parseLong(mp.group(1));
                connect[1] = Long.parseLong(mp.group(2));
            }
            var mb = begin.matcher(l);
            if (mb.find()) {
                if (!mb.group(1).equals(last)) {
                    at.clear();
                    last = mb.group(1);
                }
                at.put("begin checks", Long.parseLong(mb.group(2)));
                at.put("peer connect", Long.parseLong(mb.group(3)));
                at.put("(of which credentials)", connect[0]);
                at.put("(of which TCP+TLS)", connect[1]);
            }
            var mm = mark.matcher(l);
            if (mm.find() && mm.group(1).equals(last)) {
                at.put(mm.group(2), Long.parseLong(mm.group(3)));
            }
        }
        return new java.util.LinkedHashMap<>(at);
    }

    /** Median of each step over the runs, in the order of the first run. */
    private static String medianSteps(List<Map<String, Long>> runs) {
        if (runs.isEmpty()) {
            return "(none)";
        }
        StringBuilder b = new StringBuilder();
        for (String k : runs.get(0).keySet()) {
            long[] v = runs.stream().filter(r -> r.containsKey(k)).mapToLong(r -> r.get(k)).sorted().toArray();
            b.append(b.isEmpty() ? "" : ", ").append(k).append(' ').append(v[v.length / 2]);
        }
        return b.toString();
    }

    private static Phases phases(io.jvirt.testing.DaemonProcess source, long wallMs) throws IOException {
        Map<String, Long> at = new java.util.HashMap<>();
        java.util.regex.Pattern step = java.util.regex.Pattern.compile("migration (\\S+) of bench: (\\S+) at (\\d+) ms");
        java.util.regex.Pattern end = java.util.regex.Pattern.compile("migration (\\S+): VM bench now runs on \\S+ \\((\\d+) ms\\)");
        String last = null;
        for (String l : Files.readAllLines(source.log())) {
            var mm = step.matcher(l);
            if (mm.find()) {
                if (!mm.group(1).equals(last)) {
                    at.clear();
                    last = mm.group(1);
                }
                at.put(mm.group(2), Long.parseLong(mm.group(3)));
            }
            var me = end.matcher(l);
            if (me.find()) {
                at.put("end", Long.parseLong(me.group(2)));
            }
        }
        long prepared = at.getOrDefault("prepared", 0L);
        long completed = at.getOrDefault("completed", prepared);
        long confirmed = at.getOrDefault("confirmed", completed);
        long endMs = at.getOrDefault("end", confirmed);
        return new Phases(wallMs - endMs, prepared, completed - prepared, confirmed - completed, endMs - confirmed);
    }

    /** The guest's memory dirtier: a busybox loop rewriting a 16 MiB file in its RAM-backed root. */
    static final String DIRTY_LOOP = "while :; do dd if=/dev/zero of=/buf bs=1M count=16 2>/dev/null; done &";

    @Test
    void measure() throws Exception {
        StringBuilder out = new StringBuilder();
        try (TwoHosts h = TwoHosts.start("--migration-peer-timeout", "30")) {
            List<Sample> jvirt = new ArrayList<>();
            List<Sample> jvirtDirty = new ArrayList<>();
            jvirt(h, jvirt, jvirtDirty);
            List<Sample> floorTls = new ArrayList<>();
            List<Sample> floorPlain = new ArrayList<>();
            List<Sample> floorDirty = new ArrayList<>();
            for (int i = 0; i < RUNS; i++) {
                floorTls.add(byHand(h, true, i, false));
                floorPlain.add(byHand(h, false, i, false));
                if (DIRTY) {
                    floorDirty.add(byHand(h, true, i, true));
                }
            }
            out.append(String.format("256 MiB tiny guest (TCG), veth between two namespaces, medians of %d%n", RUNS));
            out.append(String.format("%-40s %10s %12s %12s %16s%n", "", "wall ms", "QEMU total", "downtime ms",
                    "guest stopped ms"));
            line(out, "jvirt migrate (TLS, request->done), idle", jvirt);
            line(out, "raw QMP, TLS (migrate->completed), idle", floorTls);
            line(out, "raw QMP, plain, idle", floorPlain);
            line(out, "jvirt migrate, guest dirtying memory", jvirtDirty);
            line(out, "raw QMP, TLS, guest dirtying memory", floorDirty);
            out.append(String.format("jvirt wall / floor(TLS) wall = %.2f; jvirt downtime - floor(TLS) downtime = %d ms;"
                            + " TLS cost on the floor: total %+d ms, downtime %+d ms%n",
                    median(jvirt, Sample::wallMs) / (double) Math.max(1, median(floorTls, Sample::wallMs)),
                    median(jvirt, Sample::downtimeMs) - median(floorTls, Sample::downtimeMs),
                    median(floorTls, Sample::totalMs) - median(floorPlain, Sample::totalMs),
                    median(floorTls, Sample::downtimeMs) - median(floorPlain, Sample::downtimeMs)));
            out.append(String.format("dirtying guest: jvirt wall / floor wall = %.2f, QEMU total %d vs %d ms, downtime %d vs %d ms%n",
                    median(jvirtDirty, Sample::wallMs) / (double) Math.max(1, median(floorDirty, Sample::wallMs)),
                    median(jvirtDirty, Sample::totalMs), median(floorDirty, Sample::totalMs),
                    median(jvirtDirty, Sample::downtimeMs), median(floorDirty, Sample::downtimeMs)));
            out.append(String.format("jvirt wall by phase, idle (medians, ms): begin %d, prepare %d (destination defines, starts"
                            + " QEMU -incoming), perform %d (migrate->completed), finish %d, confirm %d%n",
                    medianP(Phases::begin), medianP(Phases::prepare), medianP(Phases::perform), medianP(Phases::finish),
                    medianP(Phases::confirm)));
            out.append(String.format("destination's steps, idle (medians, ms since Prepare arrived): %s%n",
                    medianSteps(TARGET_STEPS)));
            out.append(String.format("source's finer steps, idle (medians; begin: ms each, others: ms since the watch): %s%n",
                    medianSteps(SOURCE_MARKS)));
            out.append(String.format("load average at the end: %s%n", Files.readString(Path.of("/proc/loadavg")).trim()));
        }
        System.out.println(out);
        Path results = Path.of("bench", "results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("migration-" + stamp() + ".txt"), out.toString());
    }

    private static void jvirt(TwoHosts h, List<Sample> idle, List<Sample> dirty) throws Exception {
        ObjectNode d = TestGuest.definition("bench");
        d.put("memoryMiB", 256);
        TestHttp a = h.apiA();
        TestHttp b = h.apiB();
        MigrationTest.ok(a.post("/v1/vms", d));
        MigrationTest.ok(a.post("/v1/vms/bench/start?wait=true"));
        GuestConsole.ready(a, "bench").close();
        TestHttp from = a;
        TestHttp to = b;
        for (int i = 0; i < (DIRTY ? 2 : 1) * RUNS; i++) {
            if (i == RUNS) {
                GuestConsole.type(from, "bench", DIRTY_LOOP);
                Thread.sleep(2000);
            }
            long t0 = System.nanoTime();
            JsonNode op = MigrationTest.waitOp(from, from.post("/v1/vms/bench/migration",
                    MigrationTest.body(to == b ? TwoHosts.toB() : TwoHosts.toA())));
            long wall = (System.nanoTime() - t0) / 1_000_000;
            if (!"success".equals(op.path("status").asText())) {
                throw new AssertionError(op.toString());
            }
            JsonNode r = op.path("result");
            long guestDown = Duration.between(lastInstant(from == a ? h.a : h.b, "source guest stopped"),
                    lastInstant(from == a ? h.b : h.a, "guest resumed here")).toMillis();
            (i < RUNS ? idle : dirty).add(new Sample(wall, r.path("totalTimeMs").asLong(), r.path("downtimeMs").asLong(),
                    guestDown));
            if (i < RUNS) {
                PHASES.add(phases(from == a ? h.a : h.b, wall));
                TARGET_STEPS.add(targetSteps(from == a ? h.b : h.a));
                SOURCE_MARKS.add(sourceMarks(from == a ? h.a : h.b));
            }
            TestHttp t = from;
            from = to;
            to = t;
        }
        from.post("/v1/vms/bench/destroy");
    }

    /**
     * {@code --copy-storage-all} of a 1 GiB disk full of data vs the floor: {@code qemu-img convert} of the same image
     * into a qemu-nbd export with TLS (the same certificates) over the same veth link. jvirt's storage time is its
     * {@code prepared} to {@code mirrors-ready} (mirror start to every mirror READY), from the source's log.
     */
    @Test
    void storage() throws Exception {
        StringBuilder out = new StringBuilder();
        try (TwoHosts h = TwoHosts.start("--migration-peer-timeout", "30")) {
            Path disk = h.dir.resolve("big.qcow2");
            run(List.of("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "1G"));
            run(List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1G", disk.toString()));
            Files.setPosixFilePermissions(disk, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
            // the floor first, while no guest runs
            Path target = h.dir.resolve("floor.qcow2");
            Path pid = h.dir.resolve("nbd.pid");
            run(List.of("qemu-img", "create", "-q", "-f", "qcow2", target.toString(), "1G"));
            run(List.of("ip", "netns", "exec", h.net.outside, "qemu-nbd", "--fork", "--pid-file", pid.toString(),
                    "--object", "tls-creds-x509,id=t,endpoint=server,dir=" + h.tlsB.qemuDir() + ",verify-peer=on",
                    "--tls-creds", "t", "-f", "qcow2", "-b", TwoHosts.B_ADDRESS, "-p", "10809", "-x", "d",
                    "--cache=none", target.toString()));
            long floorMs;
            try {
                long t0 = System.nanoTime();
                run(List.of("ip", "netns", "exec", h.net.inside, "qemu-img", "convert", "-n", "-f", "qcow2",
                        "--object", "tls-creds-x509,id=t,endpoint=client,dir=" + h.tlsA.qemuDir(),
                        "--target-image-opts", disk.toString(), "driver=nbd,server.type=inet,server.host="
                                + TwoHosts.B_ADDRESS + ",server.port=10809,export=d,tls-creds=t"));
                floorMs = (System.nanoTime() - t0) / 1_000_000;
            } finally {
                ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
            ObjectNode d = TestGuest.definition("big");
            d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
            TestHttp a = h.apiA();
            MigrationTest.ok(a.post("/v1/vms", d));
            MigrationTest.ok(a.post("/v1/vms/big/start?wait=true"));
            GuestConsole.ready(a, "big").close();
            ObjectNode body = MigrationTest.body(TwoHosts.toB());
            body.put("copyStorage", "all");
            long t0 = System.nanoTime();
            JsonNode op = MigrationTest.waitOp(a, a.post("/v1/vms/big/migration", body));
            long wall = (System.nanoTime() - t0) / 1_000_000;
            if (!"success".equals(op.path("status").asText())) {
                throw new AssertionError(op + "\nsource log:\n" + tail(h.a.log()) + "\ndestination log:\n" + tail(h.b.log()));
            }
            Map<String, Long> at = steps(h.a, "big");
            long mirrorMs = at.get("mirrors-ready") - at.get("prepared");
            h.apiB().post("/v1/vms/big/destroy");
            double gib = 1024.0;
            out.append(String.format("1 GiB qcow2 full of data over the veth link, TLS both ways, one run%n"));
            out.append(String.format("qemu-img convert -> qemu-nbd (TLS): %d ms, %.0f MiB/s%n", floorMs, gib * 1000 / floorMs));
            out.append(String.format("jvirt --copy-storage-all mirrors (prepared->mirrors-ready): %d ms, %.0f MiB/s = %.0f %% of"
                    + " the floor; whole migration %d ms%n", mirrorMs, gib * 1000 / mirrorMs, 100.0 * floorMs / mirrorMs, wall));
            if (Boolean.getBoolean("bench.logs")) {
                System.out.println("---- source log\n" + String.join("\n", Files.readAllLines(h.a.log())));
                System.out.println("---- destination log\n" + String.join("\n", Files.readAllLines(h.b.log())));
            }
            out.append(String.format("source's steps (ms since the watch): %s%n", new java.util.TreeMap<>(at)));
            out.append(String.format("destination's steps (ms since Prepare arrived): %s%n",
                    targetSteps(h.b, "big")));
            out.append(String.format("load average at the end: %s%n", Files.readString(Path.of("/proc/loadavg")).trim()));
        }
        System.out.println(out);
        Path results = Path.of("bench", "results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("migration-storage-" + stamp() + ".txt"), out.toString());
    }

    /** UTC minute, as the other bench results are named. */
    private static String stamp() {
        return java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmm'Z'").withZone(java.time.ZoneOffset.UTC)
                .format(java.time.Instant.now());
    }

    private static String tail(Path log) throws IOException {
        List<String> l = Files.readAllLines(log);
        return String.join("\n", l.subList(Math.max(0, l.size() - 30), l.size()));
    }

    private static void run(List<String> cmd) {
        io.jvirt.testing.Command.run(cmd, 300).requireSuccess(cmd);
    }

    /** The steps of the last migration of {@code vm} in the source's log, at their ms. */
    private static Map<String, Long> steps(io.jvirt.testing.DaemonProcess source, String vm) throws IOException {
        Map<String, Long> at = new java.util.HashMap<>();
        java.util.regex.Pattern step = java.util.regex.Pattern.compile("migration (\\S+) of " + vm + ": (\\S+) at (\\d+) ms");
        for (String l : Files.readAllLines(source.log())) {
            var mm = step.matcher(l);
            if (mm.find()) {
                at.put(mm.group(2), Long.parseLong(mm.group(3)));
            }
        }
        return at;
    }

    /** Two QEMUs started by hand in the two namespaces, migrated with raw QMP (what jvirt adds nothing to). */
    private static Sample byHand(TwoHosts h, boolean tls, int run, boolean dirty) throws Exception {
        Path dir = Files.createTempDirectory(h.dir, "floor");
        Process src = qemu(h, h.net.inside, dir.resolve("a.sock"), false, dir.resolve("a.serial"));
        Process dst = qemu(h, h.net.outside, dir.resolve("b.sock"), true, null);
        try (QmpClient qa = QmpClient.connect(dir.resolve("a.sock"), Duration.ofSeconds(30));
             QmpClient qb = QmpClient.connect(dir.resolve("b.sock"), Duration.ofSeconds(30))) {
            Thread.sleep(6000); // let the source guest boot and go idle (nobody reads its console)
            if (dirty) {
                try (var serial = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(dir.resolve("a.serial")))) {
                    serial.write(java.nio.ByteBuffer.wrap((DIRTY_LOOP + "\n").getBytes()));
                }
                Thread.sleep(2000);
            }
            caps(qa);
            caps(qb);
            if (tls) {
                qb.execute("object-add", QmpClient.args("qom-type", "tls-creds-x509", "id", "t", "endpoint", "server",
                        "dir", h.tlsB.qemuDir().toString(), "verify-peer", true));
                qb.execute("migrate-set-parameters", QmpClient.args("tls-creds", "t"));
                qa.execute("object-add", QmpClient.args("qom-type", "tls-creds-x509", "id", "t", "endpoint", "client",
                        "dir", h.tlsA.qemuDir().toString()));
                qa.execute("migrate-set-parameters", QmpClient.args("tls-creds", "t", "tls-hostname", TwoHosts.B_ADDRESS));
            }
            qa.execute("migrate-set-parameters", QmpClient.args("max-bandwidth", 1L << 40));
            qb.execute("migrate-incoming", QmpClient.args("uri", "tcp:" + TwoHosts.B_ADDRESS + ":0"));
            String port = qb.execute("query-migrate").path("socket-address").get(0).path("port").asText();
            CompletableFuture<Void> done = new CompletableFuture<>();
            CompletableFuture<java.time.Instant> stopped = new CompletableFuture<>();
            CompletableFuture<java.time.Instant> resumed = new CompletableFuture<>();
            qa.onEvent("STOP", e -> stopped.complete(e.timestamp()));
            qb.onEvent("RESUME", e -> resumed.complete(e.timestamp()));
            qa.onEvent("MIGRATION", e -> {
                String s = e.data().path("status").asText();
                if (s.equals("completed") || s.equals("failed") || s.equals("cancelled")) {
                    done.complete(null);
                }
            });
            long t0 = System.nanoTime();
            qa.execute("migrate", QmpClient.args("uri", "tcp:" + TwoHosts.B_ADDRESS + ":" + port));
            done.get(120, TimeUnit.SECONDS);
            long wall = (System.nanoTime() - t0) / 1_000_000;
            qb.execute("cont"); // at once, as jvirt's destination resumes on Finish: the floor's guest-visible downtime
            JsonNode info = qa.execute("query-migrate");
            if (!info.path("status").asText().equals("completed")) {
                throw new AssertionError("floor migration: " + info);
            }
            // QEMU sends `completed` before it has computed total-time and downtime (both read 0 for a moment): a
            // statistic, not a state, so sampled until it is there
            for (int i = 0; i < 100 && info.path("total-time").asLong() == 0; i++) {
                Thread.sleep(10);
                info = qa.execute("query-migrate");
            }
            long guestDown = Duration.between(stopped.get(10, TimeUnit.SECONDS), resumed.get(10, TimeUnit.SECONDS)).toMillis();
            return new Sample(wall, info.path("total-time").asLong(), info.path("downtime").asLong(), guestDown);
        } finally {
            for (Process p : List.of(src, dst)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static void caps(QmpClient q) {
        ObjectNode args = QmpClient.args();
        args.putArray("capabilities").addObject().put("capability", "events").put("state", true);
        q.execute("migrate-set-capabilities", args);
    }

    private static Process qemu(TwoHosts h, String ns, Path qmp, boolean incoming, Path serial) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "qemu-system-x86_64", "-machine", "pc",
                "-accel", TestGuest.accel(), "-m", "256", "-smp", "1", "-nodefaults", "-display", "none",
                "-kernel", TestGuest.kernel().toString(), "-initrd", TestGuest.initrd().toString(),
                "-append", "console=ttyS0", "-serial", serial == null ? "null" : "unix:" + serial + ",server=on,wait=off", "-qmp", "unix:" + qmp + ",server=on,wait=off"));
        if (incoming) {
            cmd.addAll(List.of("-S", "-incoming", "defer"));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        for (int i = 0; i < 200 && !Files.exists(qmp); i++) {
            try {
                Thread.sleep(25); // QEMU creates its socket a moment after exec
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return p;
    }

    private static void line(StringBuilder out, String name, List<Sample> s) {
        out.append(String.format("%-40s %10d %12d %12d %16d%n", name, median(s, Sample::wallMs), median(s, Sample::totalMs),
                median(s, Sample::downtimeMs), median(s, Sample::guestDownMs)));
    }

    private static long medianP(java.util.function.ToLongFunction<Phases> f) {
        long[] v = PHASES.stream().mapToLong(f).sorted().toArray();
        return v.length == 0 ? 0 : v[v.length / 2];
    }

    private static long median(List<Sample> s, java.util.function.ToLongFunction<Sample> f) {
        long[] v = s.stream().mapToLong(f).sorted().toArray();
        return v.length == 0 ? 0 : v[v.length / 2];
    }
}
