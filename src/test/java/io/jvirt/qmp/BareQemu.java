package io.jvirt.qmp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Test fixture: a QEMU with no machine, no devices and no display, reachable only through a QMP socket in
 * a private temporary directory. Starts in well under a second, so tests can afford one per test.
 *
 * <p>{@link #close()} kills exactly the process this fixture started (by its handle, never by name),
 * waits for it and deletes the directory, so use it in try-with-resources or an {@code @AfterEach}.
 */
public final class BareQemu implements AutoCloseable {

    public static final String BINARY = System.getProperty("jvirt.test.qemu", "qemu-system-x86_64");

    private final Path dir;
    private final Path socket;
    private final Path log;
    private final List<String> extraArgs;
    private Process process;

    private BareQemu(List<String> extraArgs) throws IOException {
        this.dir = Files.createTempDirectory("qmp-test-");
        this.socket = dir.resolve("qmp.sock");
        this.log = dir.resolve("qemu.log");
        this.extraArgs = extraArgs;
    }

    /** Starts QEMU; {@code extraArgs} are appended to the command line, e.g. {@code "-S"} to start paused. */
    public static BareQemu start(String... extraArgs) throws IOException {
        BareQemu qemu = prepare(extraArgs);
        try {
            qemu.launch();
        } catch (IOException | RuntimeException e) {
            qemu.close();
            throw e;
        }
        return qemu;
    }

    /** Allocates the directory and socket path without starting QEMU yet; call {@link #launch()} later. */
    public static BareQemu prepare(String... extraArgs) throws IOException {
        return new BareQemu(List.of(extraArgs));
    }

    public synchronized void launch() throws IOException {
        if (process != null) {
            throw new IllegalStateException("already launched");
        }
        List<String> command = new ArrayList<>(List.of(BINARY, "-machine", "none", "-nodefaults", "-display", "none",
                "-qmp", "unix:" + socket + ",server=on,wait=off"));
        command.addAll(extraArgs);
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    public Path socket() {
        return socket;
    }

    public Path dir() {
        return dir;
    }

    public synchronized Process process() {
        return process;
    }

    public long pid() {
        return process().pid();
    }

    /** Connects a client with a timeout generous enough for QEMU to create its socket. */
    public QmpClient connect() throws IOException {
        return QmpClient.connect(socket, Duration.ofSeconds(10));
    }

    /** SIGSTOP: QEMU stops answering but keeps its socket open, which is how tests provoke timeouts. */
    public void pause() {
        signal("STOP");
    }

    /** SIGCONT: undoes {@link #pause()}. */
    public void resume() {
        signal("CONT");
    }

    /** SIGKILL, then waits for the process to be gone. */
    public void kill() {
        Process p = process();
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("QEMU " + p.pid() + " did not die after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** QEMU's combined stdout/stderr so far, for assertion messages. */
    public String output() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    @Override
    public void close() {
        try {
            kill();
        } finally {
            deleteRecursively(dir);
        }
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: a leftover temp dir must not mask the test's own outcome.
        }
    }
}
