package io.jvirt.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real jvirtd in its own JVM, with its own state and run directories under a temp root, so tests can kill -9
 * it and start it again. close() ends the daemon and every QEMU it started (found through their pid files and
 * checked by command line, killed by PID), then deletes the temp root, also when the test failed.
 */
public final class DaemonProcess implements AutoCloseable {
    private final Path root;
    private final List<String> extraArgs;
    /** The network namespace (made by the test) the daemon runs in; null: the host's, where it creates no network. */
    private String netns;
    private Process process;
    private int starts;

    private static final java.util.concurrent.atomic.AtomicInteger BLOCKS = new java.util.concurrent.atomic.AtomicInteger();
    /** This daemon's --qemu-uids: 32 uids in 70000-99999 (above UID_MAX and systemd's ranges, below SUB_UID_MIN). */
    private final int[] qemuUids;

    public DaemonProcess(Path root, String... extraArgs) {
        this.root = root;
        this.extraArgs = List.of(extraArgs);
        int block = (int) ((ProcessHandle.current().pid() * 31 + BLOCKS.getAndIncrement()) % 900);
        this.qemuUids = new int[] {70000 + 32 * block, 70000 + 32 * block + 31};
    }

    /** The first and last uid this daemon's QEMUs may run as. */
    public int[] qemuUids() {
        return qemuUids.clone();
    }

    public static DaemonProcess startNew(String... extraArgs) throws IOException {
        return startNew(List.of(), extraArgs);
    }

    /**
     * A daemon inside the network namespace {@code netns} the test made (through {@code ip netns exec}, which execs:
     * the pid is the daemon's). Only there does it create its default network; its socket is a file, reachable here.
     */
    public static DaemonProcess startInNamespace(String netns, String... extraArgs) throws IOException {
        Path root = Files.createTempDirectory("jvirt-test-");
        // open like /run and /var/lib: dnsmasq re-reads its hosts file there after dropping root
        Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        DaemonProcess d = new DaemonProcess(root, extraArgs);
        d.netns = netns;
        try {
            d.start();
        } catch (RuntimeException | IOException e) {
            d.close();
            throw e;
        }
        return d;
    }

    public Path root() {
        return root;
    }

    public Path stateDir() {
        return root.resolve("state");
    }

    public Path runDir() {
        return root.resolve("run");
    }

    public Path socket() {
        return runDir().resolve("jvirtd.sock");
    }

    /** The read-only socket (mode 0666: GETs and the event stream). */
    public Path roSocket() {
        return runDir().resolve("jvirtd-ro.sock");
    }

    /** The port of the TLS listener ({@code --listen tls://127.0.0.1:0}), from the daemon's ready line; -1 without. */
    public int tlsPort() {
        try {
            for (String line : Files.readAllLines(log())) {
                int i = line.indexOf("jvirtd ready ");
                int t = line.indexOf(" tls=");
                if (i >= 0 && t > i) {
                    String hp = line.substring(t + 5).strip();
                    return Integer.parseInt(hp.substring(hp.lastIndexOf(':') + 1));
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return -1;
    }

    public TestHttp http() {
        return new TestHttp(socket());
    }

    public Path log() {
        return root.resolve("daemon-" + starts + ".log");
    }

    public long pid() {
        return process.pid();
    }

    /** Environment added to the daemon's on its next (re)start, e.g. JVIRT_FAULT; null removes a variable. */
    public final java.util.Map<String, String> env = new java.util.HashMap<>();

    /** JVM options added to the daemon's on its next (re)start, e.g. -Xmx64m. */
    public final List<String> jvmArgs = new ArrayList<>();

    /** A daemon started with these JVM options (before the daemon's own arguments). */
    public static DaemonProcess startNew(List<String> jvmArgs, String... extraArgs) throws IOException {
        Path root = Files.createTempDirectory("jvirt-test-");
        DaemonProcess d = new DaemonProcess(root, extraArgs);
        d.jvmArgs.addAll(jvmArgs);
        try {
            d.start();
        } catch (RuntimeException | IOException e) {
            d.close();
            throw e;
        }
        return d;
    }

    /**
     * Whether {@link #start} also waits until the daemon has reconciled every VM ("jvirtd recovered"), as tests
     * that look at adopted VMs right after a restart need; false: only until the API serves ("jvirtd ready").
     */
    public boolean awaitRecovery = true;

    public void start() throws IOException {
        starts++;
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:+UseSerialGC", "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.jvirt.api.JvirtDaemon",
                "--state-dir", stateDir().toString(), "--run-dir", runDir().toString(), "--accel", TestGuest.accel()));
        if (netns != null) {
            cmd.addAll(0, List.of("ip", "netns", "exec", netns));
        } else {
            cmd.add("--no-default-network"); // never touch the host's own network
        }
        // the path policy: the tiny guest (in root's private home) and the temp directories tests make disks in
        cmd.addAll(List.of("--allow-dir", TestGuest.dir().toString(), "--allow-dir", tmpDir()));
        if (!extraArgs.contains("--qemu-uids")) {
            // a block of QEMU uids of its own: daemons of tests running in parallel never share a QEMU identity
            cmd.addAll(List.of("--qemu-uids", qemuUids[0] + "-" + qemuUids[1]));
        }
        cmd.addAll(extraArgs);
        Path log = log();
        ProcessBuilder builder = new ProcessBuilder(cmd);
        env.forEach((k, v) -> {
            if (v == null) {
                builder.environment().remove(k);
            } else {
                builder.environment().put(k, v);
            }
        });
        process = builder.redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            String out = Files.exists(log) ? Files.readString(log) : "";
            if (out.contains("jvirtd ready") && (!awaitRecovery || out.contains("jvirtd recovered"))) {
                return;
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new AssertionError("jvirtd did not become ready:\n" + out);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** The JVM's temp directory as a real path (where tests put their disks). */
    public static String tmpDir() {
        try {
            return Path.of(System.getProperty("java.io.tmpdir")).toRealPath().toString();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** kill -9 of the daemon; its QEMUs keep running. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    public void restart() throws IOException {
        start();
    }

    /** PIDs of QEMUs this daemon's run directory says exist and that really run with our sockets. */
    public List<Long> qemuPids() {
        List<Long> pids = new ArrayList<>();
        Path vms = runDir().resolve("vms");
        if (!Files.isDirectory(vms)) {
            return pids;
        }
        try (Stream<Path> dirs = Files.list(vms)) {
            for (Path d : dirs.toList()) {
                Path pidFile = d.resolve("qemu.pid");
                if (Files.isRegularFile(pidFile)) {
                    try {
                        long pid = Long.parseLong(Files.readString(pidFile).strip());
                        if (io.jvirt.qemu.ProcessInfo.isOurs(pid, d.resolve("qmp.sock").toString())) {
                            pids.add(pid);
                        }
                    } catch (NumberFormatException | IOException e) {
                        // a pid file being written or removed
                    }
                }
            }
        } catch (IOException e) {
            // nothing to list
        }
        return pids;
    }

    /** Waits until the given pid no longer runs (it may stay a zombie if nobody reaps it; that counts as gone). */
    public static void awaitGone(long pid, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (io.jvirt.qemu.ProcessInfo.isRunning(pid)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("process " + pid + " still runs after " + timeout);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (long pid : qemuPids()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            awaitGone(pid, Duration.ofSeconds(10));
        }
        // what the daemon granted its QEMUs (ACL entries on the shared guest files, /root...) goes back even when
        // the test failed half-way: the same ledger, released in full
        Path ledger = stateDir().resolve("labels");
        if (Files.exists(ledger.resolve("ledger.json"))) {
            try {
                new io.jvirt.confine.AccessLedger(ledger).restoreAll();
            } catch (RuntimeException e) {
                System.err.println("cannot take back the grants in " + ledger + ": " + e);
            }
        }
        deleteTree(root);
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
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
