package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.files.FileModes;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpErrorException;
import io.jvirt.testing.Command;
import io.jvirt.testing.TestGuest;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tiny guest under a real QEMU started as jvirt-qemu with the sandbox, granted only its own files. */
class ConfinedQemuTest {
    private static final String QEMU = "/usr/bin/qemu-system-x86_64";
    @TempDir
    Path tmp;
    private QemuUser user;
    private Path state;
    private Path pool;
    private Path run;

    @BeforeEach
    void setUp() throws Exception {
        user = QemuUserFixture.ensure();
        state = FileModes.createDirectories(tmp.resolve("state"), 0700);
        pool = FileModes.createDirectories(state.resolve("pools/default"), 0700);
        run = FileModes.createDirectories(tmp.resolve("run/web"), 0700);
    }

    @Test
    void theProbeSaysThisHostConfinesQemu() {
        ConfinementProbe.Result r = ConfinementProbe.probe(QemuUser.DEFAULT_NAME, state, Path.of(QEMU));
        assertThat(r.mode()).as(r.summary()).isEqualTo(ConfinementProbe.Mode.CONFINED);
        assertThat(r.summary()).startsWith("QEMU runs as jvirt-qemu");
        ConfinementProbe.Result missing = ConfinementProbe.probe("jvirt-nosuchuser", state, Path.of(QEMU));
        assertThat(missing.mode()).isEqualTo(ConfinementProbe.Mode.ROOT);
        assertThat(missing.summary()).startsWith("runs as root: high privileges").contains("useradd --system");
    }

    @Test
    void qemuRunsAsTheUserWithSeccompAndOpensOnlyWhatItWasGranted() throws Exception {
        Path kernel = Files.copy(TestGuest.kernel(), pool.resolve("vmlinux"));
        Path initrd = Files.copy(TestGuest.initrd(), pool.resolve("initrd.img"));
        Path disk = pool.resolve("web.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "32M");
        FileModes.setMode(disk, 0600);
        Path otherVm = pool.resolve("db.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", otherVm.toString(), "32M");
        FileModes.setMode(otherVm, 0600);
        Path document = Files.writeString(state.resolve("definition.json"), "{}");
        FileModes.setMode(document, 0600);
        Path log = FileModes.createFile(tmp.resolve("console.log"), 0600);

        PathPolicy policy = PathPolicy.builder().stateDir(state).pool("default", pool).build();
        ImageChain chain = new ImageChains(new io.jvirt.storage.QemuImg(), policy).read("vda", disk, "qcow2");
        AccessLedger ledger = new AccessLedger(state.resolve("labels"));
        ledger.grant("web", user, new AccessPlan(user).disk(chain, false).read(kernel).read(initrd)
                .write(log).writeDir(run).grants());

        List<String> qemu = new ArrayList<>(List.of(QEMU, "-machine", "q35", "-accel", TestGuest.accel(), "-m", "128",
                "-nodefaults", "-display", "none", "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0", "-chardev", "file,id=s0,path=" + log, "-serial", "chardev:s0",
                "-qmp", "unix:" + run.resolve("qmp.sock") + ",server=on,wait=off", "-pidfile", run.resolve("qemu.pid").toString()));
        qemu.addAll(BlockdevChain.arguments("vda", chain, false));
        qemu.addAll(List.of("-device", "virtio-blk-pci,drive=fmt-vda,id=disk-vda"));
        Process p = new ProcessBuilder(QemuConfinement.command(user, qemu)).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("qemu.log").toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            awaitLine(log, TestGuest.READY, p);
            Map<String, String> status = status(p.pid());
            assertThat(status.get("Uid")).isEqualTo(user.uid() + "\t" + user.uid() + "\t" + user.uid() + "\t" + user.uid());
            assertThat(status.get("Gid")).startsWith(user.gid() + "\t");
            assertThat(status.get("Seccomp")).isEqualTo("2");
            assertThat(status.get("NoNewPrivs")).isEqualTo("1");
            assertThat(status.get("CapEff")).isEqualTo("0000000000000000");
            assertThat(Command.ok("stat", "-c", "%U", run.resolve("qmp.sock").toString()).strip()).isEqualTo(user.name());

            try (QmpClient qmp = QmpClient.connect(run.resolve("qmp.sock"), Duration.ofSeconds(10))) {
                assertThat(qmp.execute("query-block").toString()).contains(disk.toString());
                for (Path forbidden : List.of(otherVm, document, Path.of("/etc/shadow"))) {
                    assertThatThrownBy(() -> qmp.execute("blockdev-add", QmpClient.args("driver", "file",
                            "node-name", "probe", "filename", forbidden.toString(), "read-only", true)))
                            .isInstanceOf(QmpErrorException.class).hasMessageContaining("Permission denied");
                }
                qmp.execute("quit");
            }
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
            ledger.release("web");
        }
        assertThat(QemuUserFixture.can(user, "cat " + disk)).isFalse();
    }

    @Test
    void aBlockdevNamingAnUngrantedFileStopsQemuAtStart() throws Exception {
        Path secret = Files.writeString(pool.resolve("secret.raw"), "root only\n");
        FileModes.setMode(secret, 0600);
        FileModes.setMode(tmp, 0755); // reachable, so only the file's own mode stands in the way
        FileModes.setMode(state, 0755);
        FileModes.setMode(pool, 0755);
        List<String> qemu = List.of(QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                "-blockdev", "{\"driver\":\"file\",\"node-name\":\"f\",\"filename\":\"" + secret + "\",\"read-only\":true}");
        Command.Result r = Command.run(QemuConfinement.command(user, qemu), 30);
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("Permission denied");
        // the same as root opens it: it is the identity that stops QEMU
        Command.Result asRoot = Command.run(List.of(QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                "-blockdev", "{\"driver\":\"file\",\"node-name\":\"f\",\"filename\":\"" + secret + "\",\"read-only\":true}",
                "-qmp", "unix:" + tmp.resolve("q.sock") + ",server=on,wait=off", "-daemonize", "-pidfile",
                tmp.resolve("root.pid").toString()), 30);
        try {
            assertThat(asRoot.exit()).as(asRoot.output()).isZero();
        } finally {
            Path pid = tmp.resolve("root.pid");
            if (Files.exists(pid)) {
                long rootPid = Long.parseLong(Files.readString(pid).strip());
                ProcessHandle.of(rootPid).ifPresent(h -> {
                    h.destroyForcibly();
                    h.onExit().orTimeout(10, TimeUnit.SECONDS).join();
                });
            }
        }
    }

    @Test
    void runasCannotBeCombinedWithTheSandbox() {
        // why setpriv: QEMU's own -runas calls setuid after the seccomp filter forbids it
        Command.Result r = Command.run(List.of(QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                "-runas", user.name(), "-sandbox", "on,elevateprivileges=deny"), 30);
        assertThat(r.exit()).isEqualTo(128 + 31); // SIGSYS
    }

    private static Map<String, String> status(long pid) throws Exception {
        Map<String, String> m = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            int c = line.indexOf(':');
            m.put(line.substring(0, c), line.substring(c + 1).strip());
        }
        return m;
    }

    private static void awaitLine(Path log, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (Files.readString(log).contains(text)) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError("QEMU exited: " + Files.readString(log.resolveSibling("qemu.log")));
            }
            Thread.sleep(50); // the guest writes to a file: nothing to wait on but the file
        }
        throw new AssertionError("the guest did not print " + text);
    }
}
