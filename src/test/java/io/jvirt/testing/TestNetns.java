package io.jvirt.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Two network namespaces a test makes and removes: {@link #inside} for the daemon under test, {@link #outside}
 * standing for "the outside" across a veth pair ({@link #INSIDE_ADDRESS} / {@link #OUTSIDE_ADDRESS}). Nothing is
 * made in the host's namespace (the veth is created inside). close() ends every process left in either namespace
 * (they are this test's: the daemon, its QEMUs and dnsmasqs, servers the test ran there) by PID, deletes both
 * namespaces, and then fails if the host's links, routes, nftables ruleset or IP forwarding changed meanwhile.
 */
public final class TestNetns implements AutoCloseable {
    public static final String INSIDE_ADDRESS = "10.78.0.1";
    public static final String OUTSIDE_ADDRESS = "10.78.0.2";

    public final String inside;
    public final String outside;
    public final String veth;
    private final String hostBefore;

    public record Result(int exit, String out) {
    }

    private TestNetns(String tag) {
        String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt()).substring(0, 4);
        inside = "jvt-" + tag + "-" + id;
        outside = inside + "-out";
        veth = "jvt" + id + "v";
        hostBefore = hostState();
    }

    public static TestNetns create(String tag) {
        TestNetns n = new TestNetns(tag);
        try {
            n.must("ip", "netns", "add", n.inside);
            n.must("ip", "netns", "add", n.outside);
            n.must("ip", "-n", n.inside, "link", "set", "lo", "up");
            n.must("ip", "-n", n.outside, "link", "set", "lo", "up");
            n.must("ip", "-n", n.inside, "link", "add", n.veth + "0", "type", "veth", "peer", "name", n.veth + "1", "netns", n.outside);
            n.must("ip", "-n", n.inside, "address", "add", INSIDE_ADDRESS + "/24", "dev", n.veth + "0");
            n.must("ip", "-n", n.outside, "address", "add", OUTSIDE_ADDRESS + "/24", "dev", n.veth + "1");
            n.must("ip", "-n", n.inside, "link", "set", n.veth + "0", "up");
            n.must("ip", "-n", n.outside, "link", "set", n.veth + "1", "up");
        } catch (RuntimeException | Error e) {
            n.close();
            throw e;
        }
        return n;
    }

    /** Runs a command inside namespace {@code ns} (argument array, no shell). */
    public Result exec(String ns, String... cmd) {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        argv.addAll(List.of(cmd));
        return run(argv);
    }

    public String execOk(String ns, String... cmd) {
        Result r = exec(ns, cmd);
        if (r.exit() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " in " + ns + " failed (" + r.exit() + "): " + r.out());
        }
        return r.out();
    }

    /** Starts a long-running process in {@code ns} (ended by close()). */
    public Process spawn(String ns, String... cmd) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        argv.addAll(List.of(cmd));
        return new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    /** PIDs of the processes in a namespace. */
    public List<Long> pids(String ns) {
        Result r = run(List.of("ip", "netns", "pids", ns));
        List<Long> out = new ArrayList<>();
        for (String l : r.out().split("\\s+")) {
            if (!l.isBlank()) {
                out.add(Long.parseLong(l.strip()));
            }
        }
        return out;
    }

    /** Command lines of the processes in a namespace whose command line contains {@code marker}. */
    public List<String> processes(String ns, String marker) {
        List<String> out = new ArrayList<>();
        for (long pid : pids(ns)) {
            String cmd = String.join(" ", io.jvirt.qemu.ProcessInfo.commandLine(pid));
            if (io.jvirt.qemu.ProcessInfo.isRunning(pid) && cmd.contains(marker)) {
                out.add(pid + " " + cmd);
            }
        }
        return out;
    }

    @Override
    public void close() {
        for (String ns : List.of(inside, outside)) {
            if (!Files.exists(Path.of("/run/netns", ns))) {
                continue;
            }
            for (int round = 0; round < 3; round++) {
                List<Long> left = pids(ns);
                if (left.isEmpty()) {
                    break;
                }
                for (long pid : left) {
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
                for (long pid : left) {
                    DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));
                }
            }
            run(List.of("ip", "netns", "del", ns));
        }
        String after = hostState();
        if (!after.equals(hostBefore)) {
            throw new AssertionError("the host's network changed during the test:\nbefore:\n" + hostBefore + "\nafter:\n" + after);
        }
    }

    /** What must never change in the host's own namespace: links, routes, nftables ruleset, IP forwarding. */
    public static String hostState() {
        StringBuilder b = new StringBuilder();
        b.append(run(List.of("ip", "-o", "link", "show")).out().replaceAll("(?m) state \\S+", "").replaceAll("(?m)\\\\.*$", ""));
        b.append(run(List.of("ip", "route", "show")).out());
        b.append(run(List.of("ip", "-6", "route", "show")).out());
        if (Files.isExecutable(Path.of("/usr/sbin/nft"))) {
            b.append(run(List.of("nft", "list", "ruleset")).out());
        }
        try {
            b.append("ip_forward=").append(Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")));
        } catch (IOException e) {
            b.append("ip_forward=?");
        }
        return b.toString();
    }

    private void must(String... cmd) {
        Result r = run(List.of(cmd));
        if (r.exit() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed: " + r.out());
        }
    }

    private static Result run(List<String> argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return new Result(p.waitFor(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + argv, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
