package io.jvirt.network;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import io.jvirt.testing.TestNetns;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Not a test (surefire does not run it; bench/network.sh does): in a network namespace of its own,
 * net-start latency (and {@code virsh net-start default} in the same namespace when libvirtd is installed), VM start
 * latency with a managed NIC against user-mode, and TCP throughput guest to guest and guest to host on a nat network
 * against the same QEMU taps set up by hand. Throughput: busybox {@code dd | nc} of {@code MiB} MiB, timed on the
 * host from typing the command to its end marker. Run:
 * {@code java -cp target/classes:target/test-classes:$(deps) io.jvirt.network.NetworkBenchmark [RUNS] [MiB]}
 */
public final class NetworkBenchmark {
    static int runs;
    static int mib;

    public static void main(String[] args) throws Exception {
        runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        mib = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        System.out.printf("network benchmark: %d runs, %d MiB per transfer, accel %s, vhost-net %s%n", runs, mib,
                TestGuest.accel(), TapPlumbing.vhostUsable() ? "usable" : "not usable (no /dev/vhost-net)");
        try (TestNetns ns = TestNetns.create("bench")) {
            DaemonProcess daemon = DaemonProcess.startInNamespace(ns.inside, "--no-default-network");
            try {
                daemonRoot = daemon.root();
                jvirt(ns, daemon.http());
            } finally {
                daemon.close();
            }
            libvirt(ns);
        }
    }

    static Path daemonRoot;

    static void jvirt(TestNetns ns, TestHttp api) throws Exception {
        check(api.post("/v1/networks", "{\"name\":\"bn\",\"ipv4\":{\"address\":\"10.88.0.1/24\"},\"forwarders\":[]}"), 201);
        List<Double> netStart = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            netStart.add(millis(() -> check(api.post("/v1/networks/bn/start"), 200)));
            check(api.post("/v1/networks/bn/destroy"), 200);
        }
        report("net-start (API call: bridge, address, nft table, dnsmasq up)", netStart, "ms");
        check(api.post("/v1/networks/bn/start"), 200);

        check(api.post("/v1/vms", vm("vtap", "network", "bn")), 201);
        ObjectNode user = TestGuest.definition("vuser");
        user.putArray("nics").addObject().put("name", "net0").put("type", "user");
        check(api.post("/v1/vms", user), 201);
        // one start of each first (class loading, page cache), then the two alternate so load hits both alike
        Map<String, List<Double>> starts = new LinkedHashMap<>();
        for (int i = -1; i < runs; i++) {
            for (String vm : List.of("vtap", "vuser")) {
                double ms = millis(() -> check(api.post("/v1/vms/" + vm + "/start?wait=true"), 200));
                check(api.post("/v1/vms/" + vm + "/destroy"), 200);
                if (i >= 0) {
                    starts.computeIfAbsent(vm, k -> new ArrayList<>()).add(ms);
                }
            }
        }
        report("VM start, API -> running, managed NIC (tap on bn)", starts.get("vtap"), "ms");
        report("VM start, API -> running, user-mode NIC", starts.get("vuser"), "ms");

        List<String> variants = TapPlumbing.vhostUsable() ? List.of("vhost", "novhost") : List.of("novhost");
        List<Pair> pairs = new ArrayList<>();
        List<AutoCloseable> open = new ArrayList<>();
        try {
            for (String v : variants) {
                String a = "ga" + v;
                String b = "gb" + v;
                for (String g : List.of(a, b)) {
                    ObjectNode d = vm(g, "network", "bn");
                    if (v.equals("novhost")) {
                        ((ObjectNode) d.path("nics").path(0)).put("vhost", false);
                    }
                    check(api.post("/v1/vms", d), 201);
                    check(api.post("/v1/vms/" + g + "/start?wait=true"), 200);
                }
                GuestShell ga = GuestShell.open(api, a);
                GuestShell gb = GuestShell.open(api, b);
                open.add(ga);
                open.add(gb);
                ga.awaitAddress("eth0", Duration.ofSeconds(90));
                String ipB = gb.awaitAddress("eth0", Duration.ofSeconds(90));
                pairs.add(new Pair("jvirt nat network, " + (v.equals("vhost") ? "vhost-net on" : "vhost-net off"),
                        cmd -> ga.run(cmd, Duration.ofMinutes(5)), cmd -> gb.run(cmd, Duration.ofMinutes(5)), ipB, "10.88.0.1"));
            }
            pairs.add(byHand(ns, open, io.jvirt.qemu.ProcessInfo.commandLine(
                    api.get("/v1/vms/" + "ga" + variants.get(variants.size() - 1)).json().path("runtime").path("pid").asLong()),
                    daemonRoot));
            throughput(ns, pairs);
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
        }
        for (String v : variants) {
            for (String g : List.of("ga" + v, "gb" + v)) {
                check(api.post("/v1/vms/" + g + "/destroy"), 200);
            }
        }
        check(api.post("/v1/networks/bn/destroy"), 200);
    }

    /** Two guests, a sender {@code a} and a receiver {@code b}, and the host's address they reach. */
    record Pair(String label, Function<String, String> a, Function<String, String> b, String ipB, String hostIp) {
    }

    /**
     * The same by hand: a bridge and two taps made with ip, and two QEMUs started by hand with jvirt's very command
     * line (read from /proc) but their own sockets, tap, MAC and uuid, and without -S; static addresses.
     * What to undo goes into {@code open}.
     */
    static Pair byHand(TestNetns ns, List<AutoCloseable> open, List<String> template, Path jvirtRoot) throws Exception {
        ns.execOk(ns.inside, "ip", "link", "add", "handbr", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        ns.execOk(ns.inside, "ip", "address", "add", "10.89.0.1/24", "dev", "handbr");
        ns.execOk(ns.inside, "ip", "link", "set", "handbr", "up");
        Path dir = Files.createTempDirectory("jvirt-hand-");
        List<Process> qemus = new ArrayList<>();
        open.add(() -> {
            for (Process p : qemus) {
                p.destroyForcibly();
                p.waitFor();
            }
            for (String link : List.of("hand0", "hand1", "handbr")) {
                ns.exec(ns.inside, "ip", "link", "del", link);
            }
            try (var walk = Files.walk(dir)) {
                for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        });
        List<RawSerial> consoles = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String tap = "hand" + i;
            ns.execOk(ns.inside, "ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", "0");
            ns.execOk(ns.inside, "ip", "link", "set", "dev", tap, "master", "handbr", "up");
            Path own = Files.createDirectories(dir.resolve("vm" + i));
            List<String> argv = new ArrayList<>();
            for (int k = 0; k < template.size(); k++) {
                String arg = template.get(k);
                if (arg.equals("-S") || arg.equals("/usr/bin/setsid")) {
                    continue;
                }
                if (k > 0 && template.get(k - 1).equals("-uuid")) {
                    arg = java.util.UUID.randomUUID().toString();
                }
                arg = arg.replaceAll(java.util.regex.Pattern.quote(jvirtRoot.toString()) + "[^,]*/([a-z]+\\.(sock|pid|log))",
                        own.toString().replace("\\", "\\\\") + "/$1");
                arg = arg.replaceAll("ifname=[^,]+", "ifname=" + tap).replaceAll("mac=[0-9a-f:]+", "mac=52:54:00:99:00:0" + i);
                argv.add(arg);
            }
            Path sock = own.resolve("console.sock");
            qemus.add(ns.spawn(ns.inside, argv.toArray(String[]::new)));
            RawSerial c = RawSerial.connect(sock);
            consoles.add(c);
            open.add(c);
        }
        for (int i = 0; i < 2; i++) {
            consoles.get(i).await(TestGuest.READY, Duration.ofSeconds(90));
            consoles.get(i).run("ip addr flush dev eth0; ip addr add 10.89.0.1" + i + "/24 dev eth0", Duration.ofSeconds(30));
        }
        return new Pair("QEMU by hand, taps by hand, vhost-net off",
                cmd -> consoles.get(0).run(cmd, Duration.ofMinutes(5)), cmd -> consoles.get(1).run(cmd, Duration.ofMinutes(5)),
                "10.89.0.11", "10.89.0.1");
    }

    /**
     * Guest A to guest B, and guest A to the host, {@code mib} MiB each time with busybox dd | nc; the setups take
     * turns within each run, so a load that comes and goes hits them alike.
     */
    static void throughput(TestNetns ns, List<Pair> pairs) throws Exception {
        String send = "dd if=/dev/zero bs=64k count=" + (mib * 16) + " 2>/dev/null | nc ";
        Map<String, List<Double>> g2g = new LinkedHashMap<>();
        Map<String, List<Double>> g2h = new LinkedHashMap<>();
        for (int i = 0; i < runs; i++) {
            for (Pair p : pairs) {
                p.b().apply("(nc -l -p 5001 >/dev/null &)");
                GuestShell.sleep(300);
                g2g.computeIfAbsent(p.label(), k -> new ArrayList<>())
                        .add(mibPerSecond(() -> expectOk(p.a().apply(send + p.ipB() + " 5001"))));
                Process listener = ns.spawn(ns.inside, "busybox", "nc", "-l", "-p", "5002");
                GuestShell.sleep(300);
                g2h.computeIfAbsent(p.label(), k -> new ArrayList<>())
                        .add(mibPerSecond(() -> expectOk(p.a().apply(send + p.hostIp() + " 5002"))));
                listener.waitFor();
            }
        }
        g2g.forEach((label, v) -> report("TCP guest -> guest, " + label, v, "MiB/s"));
        g2h.forEach((label, v) -> report("TCP guest -> host, " + label, v, "MiB/s"));
    }

    static void expectOk(String out) {
        if (!out.contains("RC=0")) {
            throw new IllegalStateException("transfer failed: " + out);
        }
    }

    /** {@code virsh net-start default} inside the same namespace, if libvirtd is installed and none runs. */
    static void libvirt(TestNetns ns) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/sbin/libvirtd")) || !Files.isExecutable(Path.of("/usr/bin/virsh"))) {
            System.out.println("virsh net-start default: not measured (libvirt not installed; bench/network.sh --libvirt installs it)");
            return;
        }
        if (!ProcessHandle.allProcesses().filter(p -> p.info().command().orElse("").endsWith("/libvirtd")).toList().isEmpty()) {
            System.out.println("virsh net-start default: not measured (a libvirtd that is not ours runs)");
            return;
        }
        Process libvirtd = ns.spawn(ns.inside, "/usr/sbin/libvirtd");
        boolean defined = false;
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!virsh(ns, "version").contains("libvirt")) {
                if (System.nanoTime() > deadline || !libvirtd.isAlive()) {
                    System.out.println("virsh net-start default: not measured (libvirtd did not answer in the namespace)");
                    return;
                }
                GuestShell.sleep(200);
            }
            defined = !virsh(ns, "net-info", "default").contains("Name");
            if (defined) {
                virsh(ns, "net-define", "/usr/share/libvirt/networks/default.xml");
            }
            virsh(ns, "net-destroy", "default");
            List<Double> t = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                TestNetns.Result[] out = new TestNetns.Result[1];
                double ms = millis(() -> out[0] = virshResult(ns, "net-start", "default"));
                if (out[0].exit() != 0) {
                    System.out.println("virsh net-start default: failed in the namespace: " + out[0].out().strip());
                    return;
                }
                t.add(ms);
                virsh(ns, "net-destroy", "default");
            }
            report("virsh net-start default (same namespace, CLI wall time)", t, "ms");
            List<Double> cli = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                cli.add(millis(() -> virsh(ns, "net-list", "--all")));
            }
            report("  virsh net-list --all (CLI start-up and one call, for scale)", cli, "ms");
        } finally {
            if (defined) {
                virsh(ns, "net-destroy", "default");
                virsh(ns, "net-undefine", "default"); // leave libvirt's config as it was
            }
            libvirtd.destroy();
            libvirtd.waitFor();
        }
    }

    static String virsh(TestNetns ns, String... args) {
        return virshResult(ns, args).out();
    }

    static TestNetns.Result virshResult(TestNetns ns, String... args) {
        List<String> argv = new ArrayList<>(List.of("virsh", "-q", "-c", "qemu:///system"));
        argv.addAll(List.of(args));
        return ns.exec(ns.inside, argv.toArray(String[]::new));
    }

    static ObjectNode vm(String name, String field, String value) {
        ObjectNode d = TestGuest.definition(name);
        d.putArray("nics").addObject().put("name", "net0").put(field, value);
        return d;
    }

    static TestHttp.Response check(TestHttp.Response r, int status) {
        if (r.status() != status) {
            throw new IllegalStateException("expected " + status + ", got " + r);
        }
        return r;
    }

    interface Step {
        void run() throws Exception;
    }

    static double millis(Step s) throws Exception {
        long t0 = System.nanoTime();
        s.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    static double mibPerSecond(Step s) throws Exception {
        return mib / (millis(s) / 1000.0);
    }

    static void report(String what, List<Double> values, String unit) {
        List<Double> sorted = values.stream().sorted().toList();
        double median = sorted.get(sorted.size() / 2);
        System.out.printf(Locale.ROOT, "%-75s median %8.1f %s  (min %.1f, max %.1f, n=%d)%n", what, median, unit,
                sorted.get(0), sorted.get(sorted.size() - 1), sorted.size());
    }

    /** The serial console of a QEMU started by hand (its unix socket), with the same command protocol as GuestShell. */
    static final class RawSerial implements AutoCloseable {
        private final SocketChannel ch;
        private final StringBuffer seen = new StringBuffer();
        private int mark = 5000;

        private RawSerial(SocketChannel ch) {
            this.ch = ch;
            Thread.ofVirtual().start(() -> {
                ByteBuffer buf = ByteBuffer.allocate(4096);
                try {
                    while (ch.read(buf) >= 0) {
                        buf.flip();
                        synchronized (seen) {
                            seen.append(StandardCharsets.UTF_8.decode(buf));
                            seen.notifyAll();
                        }
                        buf.clear();
                    }
                } catch (IOException e) {
                    // closed
                }
            });
        }

        static RawSerial connect(Path socket) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    return new RawSerial(ch);
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    GuestShell.sleep(20);
                }
            }
        }

        int await(String text, Duration timeout) {
            return await(text, 0, timeout);
        }

        int await(String text, int from, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (seen) {
                while (true) {
                    int i = seen.indexOf(text, from);
                    if (i >= 0) {
                        return i + text.length();
                    }
                    long left = (deadline - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        throw new IllegalStateException("console never showed " + text + ": " + seen);
                    }
                    try {
                        seen.wait(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                }
            }
        }

        String run(String command, Duration timeout) {
            int m = ++mark;
            int from = seen.length();
            try {
                ch.write(ByteBuffer.wrap((command + "; echo \"RC=$? E" + m + "=$((" + m + "+1000))\"\n").getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            String marker = "E" + m + "=" + (m + 1000);
            int end = await(marker, from, timeout);
            return seen.substring(from, end);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

}
