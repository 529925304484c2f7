package io.jvirt.qemu;

import io.jvirt.qemu.monitor.CapabilityCache;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qmp.QmpClient;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One QEMU process and the daemon's connections to it (the typed {@link Monitor}, serial console).
 *
 * <p>An instance is made either by {@link #spawn} (a new process, our child: its exit status is known) or by
 * {@link #adopt} (a process a previous daemon left running). QEMU runs in its own session, so it outlives the
 * daemon and ignores signals aimed at the daemon's terminal. {@link #exited()} completes once when the process
 * is gone, whoever ended it: the event every waiter races against, so nobody waits on a dead QEMU.
 */
public final class QemuInstance {
    private static final Logger log = LoggerFactory.getLogger(QemuInstance.class);
    /** How far a process's start time may be from the recorded one (the boot time's second, the spawn's delay). */
    public static final Duration START_TIME_SLACK = Duration.ofSeconds(3);
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final long pid;
    private final String emulator;
    private final QemuPaths paths;
    private final QemuLog qemuLog;
    private final Instant startedAt;
    private final Optional<Process> child;
    private final long outputOffset;
    private final CompletableFuture<QemuExit> exited = new CompletableFuture<>();
    private volatile boolean exitRequested;
    private volatile QmpClient qmp;
    private volatile Monitor monitor;
    private volatile SerialConsole console;
    private volatile java.util.function.Consumer<QemuExit> exitHandler = exit -> { };

    private QemuInstance(long pid, String emulator, QemuPaths paths, Instant startedAt, Optional<Process> child,
                         long outputOffset) {
        this.pid = pid;
        this.emulator = emulator;
        this.paths = paths;
        this.qemuLog = new QemuLog(paths.qemuLog());
        this.startedAt = startedAt;
        this.child = child;
        this.outputOffset = outputOffset;
    }

    /** Starts QEMU with vCPUs held (-S). Call {@link #connect} next; the caller resumes the guest when ready. */
    public static QemuInstance spawn(QemuLaunchSpec spec, QemuPaths paths) {
        List<String> command = QemuCommandLine.build(spec, paths);
        Map<String, String> env = Map.of("LC_ALL", "C", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        QemuLog qlog = new QemuLog(paths.qemuLog());
        Process process;
        long offset;
        try {
            // the files themselves exist already (prepareFiles): granted to a confined QEMU, they stay as they are
            prepareFiles(paths, false);
            offset = qlog.recordStart(command, env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted().toList());
            List<String> argv = new ArrayList<>();
            if (Files.isExecutable(SETSID)) {
                argv.add(SETSID.toString()); // setsid(2) then exec: same pid, detached from the daemon's session
            }
            if (spec.confined() != null) {
                argv.addAll(spec.confined().prefix()); // setpriv ... --: exec again, same pid, QEMU never holds root
            }
            argv.addAll(command);
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(paths.qemuLog().toFile()))
                    .redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().putAll(env);
            process = pb.start();
        } catch (IOException e) {
            throw new QemuStartException("cannot run " + spec.emulator(), e.getMessage(), e);
        }
        QemuInstance instance = new QemuInstance(process.pid(), spec.emulator().toString(), paths, Instant.now(),
                Optional.of(process), offset);
        process.onExit().thenAccept(p -> instance.processEnded(p.exitValue()));
        return instance;
    }

    /**
     * Takes over a QEMU a previous daemon started. The pid must still run a QEMU whose command line names this
     * VM's monitor socket, so a recycled pid is never mistaken for our VM. {@code emulator} is the binary the VM's
     * definition names (what the capability cache files its answers under, with the version QEMU announces).
     * The process must also have started when the record says ({@code startedAt}, within
     * {@link #START_TIME_SLACK}; null when unknown): a pid recycled for another QEMU of the same VM's paths is not ours either.
     */
    public static Optional<QemuInstance> adopt(long pid, QemuPaths paths, Instant startedAt, String emulator) {
        if (!ProcessInfo.isOurs(pid, paths.qmpSocket().toString())) {
            return Optional.empty();
        }
        Optional<Instant> started = ProcessInfo.startTime(pid);
        if (startedAt != null && started.isPresent()
                && Duration.between(started.get(), startedAt).abs().compareTo(START_TIME_SLACK) > 0) {
            log.warn("pid {} runs a QEMU with this VM's sockets but started at {}, not at {} as recorded: not adopted",
                    pid, started.get(), startedAt);
            return Optional.empty();
        }
        Instant since = startedAt != null ? startedAt : started.orElse(Instant.now());
        QemuInstance instance = new QemuInstance(pid, emulator, paths, since, Optional.empty(), -1);
        return Optional.of(instance);
    }

    /**
     * The directories and files of a start, made before QEMU (or its confinement, which grants them) sees them:
     * run directory 0700 without stale sockets, log directory 0700, {@code qemu.log} 0600, and with
     * {@code rotate} the previous run's {@code console.log} moved to {@code console.log.1} and a fresh one made
     * 0600 (an unprivileged QEMU cannot create files in the log directory; console logs hold what users type).
     * Modes are given at creation only: an existing directory keeps its mode and any ACL entry granted on it.
     */
    public static void prepareFiles(QemuPaths paths, boolean rotate) throws IOException {
        for (Path dir : List.of(paths.runDir(), paths.logDir())) {
            if (!Files.isDirectory(dir)) { // (FileModes would chmod an existing one, which resets an ACL mask)
                io.jvirt.files.FileModes.createDirectories(dir, io.jvirt.files.FileModes.PRIVATE_DIR);
            }
        }
        for (Path stale : List.of(paths.qmpSocket(), paths.consoleSocket(), paths.agentSocket(), paths.pidFile())) {
            Files.deleteIfExists(stale);
        }
        if (!Files.exists(paths.qemuLog())) {
            io.jvirt.files.FileModes.createFile(paths.qemuLog(), io.jvirt.files.FileModes.PRIVATE_FILE);
        }
        if (rotate) {
            // The console history a client sees is this run's; the previous run's stays in console.log.1.
            if (Files.exists(paths.consoleLog())) {
                Files.move(paths.consoleLog(), paths.consoleLog().resolveSibling(paths.consoleLog().getFileName() + ".1"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            io.jvirt.files.FileModes.createFile(paths.consoleLog(), io.jvirt.files.FileModes.PRIVATE_FILE);
        } else if (!Files.exists(paths.consoleLog())) {
            io.jvirt.files.FileModes.createFile(paths.consoleLog(), io.jvirt.files.FileModes.PRIVATE_FILE);
        }
    }

    /**
     * Connects the QMP monitor and the serial console. Fails fast, with QEMU's own stderr, when the process
     * exits before its monitor answers. What this QEMU can do is asked of it (and filed in {@code capabilities})
     * only when a capability first needs to know, not here.
     */
    public void connect(Duration timeout, CapabilityCache capabilities) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Path socket = paths.qmpSocket();
        IOException last = null;
        while (true) {
            if (exited.isDone() || (child.isEmpty() && !ProcessInfo.isRunning(pid))) {
                throw startFailure("QEMU exited during start-up", null);
            }
            if (Files.exists(socket)) {
                try {
                    // Short attempts to connect (so a QEMU that dies is noticed), but the handshake may use the
                    // whole start timeout: under load QEMU can take seconds to answer qmp_capabilities.
                    qmp = QmpClient.connect(socket, Duration.ofMillis(500),
                            Duration.ofNanos(Math.max(deadline - System.nanoTime(), 1_000_000_000L)));
                    monitor = new Monitor(qmp, emulator, capabilities);
                    break;
                } catch (IOException e) {
                    last = e;
                } catch (RuntimeException e) {
                    throw startFailure("QEMU monitor handshake failed", e);
                }
            }
            if (System.nanoTime() > deadline) {
                throw startFailure("QEMU monitor did not answer within " + timeout.toSeconds() + " s", last);
            }
            try {
                Thread.sleep(2); // the socket appears a few ms after exec; nothing to wait on but the file
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QemuStartException("interrupted while connecting to QEMU", null, e);
            }
        }
        if (child.isEmpty()) {
            // Not our child: the monitor's end of file is how we learn that the process has gone.
            qmp.closed().thenRun(() -> Thread.ofVirtual().start(this::awaitAdoptedExit));
        }
        try {
            console = SerialConsole.connect(paths.consoleSocket(), paths.consoleLog());
        } catch (IOException e) {
            log.warn("VM console socket {} not reachable: {}", paths.consoleSocket(), e.toString());
        }
    }

    private QemuStartException startFailure(String what, Throwable cause) {
        String output = outputOffset >= 0 ? qemuLog.readFrom(outputOffset, 4000) : "";
        if (exited.isDone()) {
            QemuExit exit = exited.getNow(null);
            what = what + " (" + exit.description() + ")";
        }
        return new QemuStartException(what, output, cause);
    }

    private void awaitAdoptedExit() {
        // The monitor closes as the process exits; the process may linger for a moment (or stay a zombie if
        // nobody reaps it): it counts as gone once it is not running.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessInfo.isRunning(pid) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                return;
            }
        }
        if (ProcessInfo.isRunning(pid)) {
            log.warn("QEMU {} closed its monitor but is still running; killing it", pid);
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        processEnded(null);
    }

    private synchronized void processEnded(Integer exitCode) {
        if (exited.isDone()) {
            return;
        }
        QemuExit exit = new QemuExit(exitCode, exitRequested, QemuExit.describe(exitCode));
        qemuLog.record((exitRequested ? "shutting down: " : "QEMU terminated unexpectedly: ") + exit.description());
        SerialConsole c = console;
        if (c != null) {
            c.close();
        }
        QmpClient q = qmp;
        if (q != null) {
            q.close();
        }
        try {
            exitHandler.accept(exit);
        } catch (RuntimeException e) {
            log.error("exit handler of QEMU {} failed", pid, e);
        } finally {
            exited.complete(exit);
        }
    }

    /**
     * Sets what runs when the process is gone. It runs before {@link #exited()} completes, so whoever waits on
     * the exit sees its effects (the VM's new state) at once.
     */
    public synchronized void onExit(java.util.function.Consumer<QemuExit> handler) {
        this.exitHandler = handler;
        if (exited.isDone()) {
            handler.accept(exited.getNow(null)); // it died before anyone listened
        }
    }

    public long pid() {
        return pid;
    }

    public QemuPaths paths() {
        return paths;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /** The typed monitor; only after {@link #connect}. */
    public Monitor monitor() {
        Monitor m = monitor;
        if (m == null) {
            throw new IllegalStateException("QEMU monitor is not connected");
        }
        return m;
    }

    public Optional<SerialConsole> console() {
        return Optional.ofNullable(console);
    }

    public CompletableFuture<QemuExit> exited() {
        return exited;
    }

    public boolean isAlive() {
        return !exited.isDone();
    }

    /** Marks the coming exit as asked for by us (quit, destroy), so it is not reported as a crash. */
    public void expectExit() {
        exitRequested = true;
    }

    /** SIGTERM, then SIGKILL after {@code grace}; returns once the process is gone. */
    public QemuExit terminate(Duration grace) {
        expectExit();
        signal(false);
        try {
            return exited.get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            log.warn("QEMU {} ignored SIGTERM for {} ms; sending SIGKILL", pid, grace.toMillis());
            signal(true);
            return awaitExit(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            signal(true);
            return exited.getNow(null);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    public QemuExit awaitExit(Duration timeout) {
        try {
            return exited.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return exited.getNow(null);
        } catch (ExecutionException | TimeoutException e) {
            return exited.getNow(null);
        }
    }

    private void signal(boolean force) {
        if (child.isPresent()) {
            Process p = child.get();
            if (force) {
                p.destroyForcibly();
            } else {
                p.destroy();
            }
            return;
        }
        // Re-check the pid right before signalling: never signal a pid that no longer runs our QEMU.
        if (ProcessInfo.isOurs(pid, paths.qmpSocket().toString())) {
            ProcessHandle.of(pid).ifPresent(h -> {
                if (force) {
                    h.destroyForcibly();
                } else {
                    h.destroy();
                }
            });
        }
    }
}
