package io.jvirt.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The post-copy rows of docs/migration.md's phase x failure table: a daemon (kill -9 by its fault point, or by the
 * test while the other side holds at a phase) or either QEMU dies during a post-copy; afterwards the VM runs on
 * exactly one host (B once the switch happened: the restarted daemon finishes the post-copy), or, when a QEMU's half
 * of RAM died, is crashed with a reason where it last ran; the other host has neither the VM nor a QEMU,
 * and the running side's disk holds the last number the guest acknowledged.
 *
 * <p>Post-copy is forced as in MigrationPostcopyTest: a throttled pre-copy (6 MiB/s for a 128 MiB guest) with a
 * 1 ms downtime limit, switched by {@code migrate/postcopy} once QEMU is active, so most RAM is still on A then.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MigrationPostcopyCrashTest {
    TwoHosts hosts;
    int n;
    boolean reasonNamesPostcopy;

    static Stream<Arguments> cells() {
        return Stream.of(
                // the record is written, migrate-start-postcopy never sent: QEMU stays in pre-copy, B aborts on the close
                Arguments.of("A", "daemon-postcopy-requested", "A"),
                // QEMU switched, Finish not sent: B keeps its QEMU (it holds the device state), the restart sends Finish
                Arguments.of("A", "daemon-postcopy-active", "B"),
                Arguments.of("A", "daemon-postcopy-running-there", "B"),
                // the link is cut first: both QEMUs pause; the restarted source resumes the post-copy itself
                Arguments.of("A", "daemon-postcopy-paused", "B"),
                // B halts after its post-copy `finishing` record, before its guest runs: its restart runs it
                Arguments.of("B", "daemon-finishing", "B"),
                // B killed by the test while its guest runs in post-copy (A held at postcopy-running-there)
                Arguments.of("B", "daemon-while-postcopy", "B"),
                // B's QEMU killed by the test there: the newest half of RAM died; A's QEMU pauses, asks B, ends its
                // side; the VM stays crashed on B, where it ran last
                Arguments.of("B", "qemu-while-postcopy", "B-crashed"),
                // the source's QEMU dies before the switch: the whole state was on A
                Arguments.of("A", "qemu-postcopy-requested", "A-crashed"),
                // after the switch, before Finish: B may or may not have run the guest (Finish races the death)
                Arguments.of("A", "qemu-postcopy-active", "A-crashed|B-crashed"),
                // after Finish: the guest ran on B with part of its RAM: lost, crashed on B with the reason
                Arguments.of("A", "qemu-postcopy-running-there", "B-crashed"))
                .filter(a -> ONLY == null || java.util.Arrays.asList(ONLY.split(",")).contains((String) a.get()[1]));
    }

    /** {@code -Dcrash.cells=daemon-postcopy-active,...}: only those cells. */
    static final String ONLY = System.getProperty("crash.cells");

    @BeforeAll
    void start() throws Exception {
        // a 15 s peer bound as in MigrationCrashTest: a starved peer on a loaded machine is not taken for lost
        hosts = TwoHosts.start("--migration-peer-timeout", "15");
    }

    @AfterAll
    void stop() {
        if (hosts != null) {
            hosts.close();
        }
    }

    @ParameterizedTest(name = "kill {0} at {1} -> {2}")
    @MethodSource("cells")
    void cell(String who, String fault, String expect) throws Exception {
        String vm = "p" + (++n);
        Path disk = TestGuest.newDisk(hosts.dir.resolve(vm + ".qcow2"), "qcow2", "64M");
        ObjectNode d = TestGuest.definition(vm);
        d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
        Path holdDir = hosts.dir.resolve("hold-" + vm);
        boolean bWhilePostcopy = fault.equals("daemon-while-postcopy");
        boolean bQemu = fault.equals("qemu-while-postcopy");
        reasonNamesPostcopy = !bQemu; // B's own QEMU death: B's reason is QEMU's exit, A's operation names post-copy
        boolean linkCut = fault.equals("daemon-postcopy-paused");
        DaemonProcess faulted = who.equals("A") ? hosts.a : hosts.b;
        DaemonProcess other = who.equals("A") ? hosts.b : hosts.a;
        if (bWhilePostcopy || bQemu) {
            arm(hosts.a, "migration:hold-postcopy-running-there:" + holdDir);
            arm(hosts.b, null);
        } else {
            arm(faulted, "migration:" + fault);
            arm(other, null);
        }
        TestHttp a = hosts.apiA();
        try {
            assertThat(a.post("/v1/vms", d).status()).isEqualTo(201);
            MigrationTest.ok(a.post("/v1/vms/" + vm + "/start?wait=true"));
            try (ConsoleReader console = GuestConsole.ready(a, vm)) {
                GuestConsole.type(a, vm, "seqwriter /dev/vda &");
                console.await("SEQ 3", 0, GuestConsole.TIMEOUT);
            }
            ObjectNode body = MigrationTest.body(TwoHosts.toB()).put("postcopyAfterPrecopy", true)
                    .put("bandwidthMiB", 6).put("maxDowntimeMs", 1);
            long daemonPid = faulted.pid();
            TestHttp.Response started = a.post("/v1/vms/" + vm + "/migration", body);
            assertThat(started.status()).as(started.toString()).isEqualTo(202);
            awaitPhase(a, vm, started, "active");
            TestHttp.Response sw = a.post("/v1/vms/" + vm + "/migration/postcopy");
            assertThat(sw.status()).as(sw + "\n" + hosts.logs()).isEqualTo(200);
            if (linkCut) {
                awaitPhase(a, vm, started, "postcopy-running-there");
                hosts.link(false);
                try {
                    DaemonProcess.awaitGone(daemonPid, Duration.ofSeconds(90)); // at its postcopy-paused record
                    // and B paused by itself on the silence (as MigrationPostcopyTest: its QEMU is then waiting to recover)
                    awaitLog(hosts.b, "incoming migration " + started.json().path("id").asText() + ": VM " + vm
                            + ": post-copy paused", Duration.ofSeconds(60));
                } finally {
                    hosts.link(true);
                }
                restartClean(hosts.a);
            } else if (bQemu) {
                awaitFile(holdDir.resolve("reached-postcopy-running-there"), Duration.ofSeconds(90));
                java.util.List<Long> pids = hosts.b.qemuPids();
                assertThat(pids).as("B's QEMU").hasSize(1);
                ProcessHandle.of(pids.get(0)).ifPresent(ProcessHandle::destroyForcibly);
                DaemonProcess.awaitGone(pids.get(0), Duration.ofSeconds(30));
                Files.createFile(holdDir.resolve("go"));
                JsonNode op = MigrationTest.waitOp(a, started);
                assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("failure");
                assertThat(op.toString()).contains("destination's QEMU died during post-copy");
            } else if (bWhilePostcopy) {
                awaitFile(holdDir.resolve("reached-postcopy-running-there"), Duration.ofSeconds(90));
                hosts.b.kill9();
                Files.createFile(holdDir.resolve("go"));
                restartClean(hosts.b);
            } else if (fault.startsWith("daemon-")) {
                DaemonProcess.awaitGone(daemonPid, Duration.ofSeconds(120));
                restartClean(faulted);
            } else {
                JsonNode op = MigrationTest.waitOp(a, started);
                assertThat(op.path("status").asText()).as("the migration fails: its source QEMU died: " + op)
                        .isEqualTo("failure");
            }
            try {
                settle(vm, expect, disk);
            } catch (AssertionError e) {
                System.out.println("FAILED " + fault + "; console on A: " + tail(hosts.apiA().get("/v1/vms/" + vm + "/console").text())
                        + "\nconsole on B: " + tail(hosts.apiB().get("/v1/vms/" + vm + "/console").text()));
                trace(vm, fault, true);
                throw e;
            }
            trace(vm, fault, false);
        } catch (Throwable t) {
            System.out.println("FAILED " + fault + ": " + String.valueOf(t.getMessage()).lines().findFirst().orElse(""));
            trace(vm, fault, true);
            throw t;
        } finally {
            // a daemon the failure left down must not hide the failure behind a refused connection here
            for (DaemonProcess h : new DaemonProcess[] {hosts.a, hosts.b}) {
                try {
                    h.http().post("/v1/vms/" + vm + "/destroy");
                    h.http().send("DELETE", "/v1/vms/" + vm, null, null);
                } catch (RuntimeException | AssertionError e) {
                    System.out.println("cleanup of " + vm + ": " + e.getMessage());
                }
            }
        }
    }

    /**
     * What each daemon said about this VM's post-copy (every log of every start), on the test's output: the story
     * of each cell; with {@code all}, every line naming the VM (a failure's diagnosis).
     */
    private void trace(String vm, String fault, boolean all) throws java.io.IOException {
        for (DaemonProcess h : new DaemonProcess[] {hosts.a, hosts.b}) {
            java.util.List<Path> logs;
            try (Stream<Path> files = Files.list(h.root())) {
                logs = files.filter(f -> f.getFileName().toString().matches("daemon-\\d+\\.log"))
                        .sorted(java.util.Comparator.comparingInt(f -> Integer.parseInt(f.getFileName().toString()
                                .replaceAll("\\D", "")))).toList();
            }
            for (Path log : logs) {
                try (Stream<String> lines = Files.lines(log)) {
                    lines.filter(l -> l.contains(vm) && (all || l.contains("post-copy") || l.contains("postcopy")
                                    || l.contains("Finish") || l.contains("lost") || l.contains("kept")
                                    || l.contains("rolled back") || l.contains("JVIRT_FAULT")))
                            .forEach(l -> System.out.println(fault + " " + (h == hosts.a ? "A" : "B") + ": " + l));
                }
            }
        }
    }

    private static String tail(String s) {
        return s.substring(Math.max(0, s.length() - 300));
    }

    /** The daemon runs with {@code fault} (or none) in its environment: restarted if that changes it. */
    private static void arm(DaemonProcess d, String fault) throws Exception {
        if (!Objects.equals(d.env.get("JVIRT_FAULT"), fault)) {
            d.kill9();
            d.env.put("JVIRT_FAULT", fault);
            d.restart();
        }
    }

    private static void restartClean(DaemonProcess d) throws Exception {
        d.env.put("JVIRT_FAULT", null);
        d.restart();
    }

    private void settle(String vm, String expect, Path disk) throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
        if (expect.contains("|")) {
            // either outcome: whichever side keeps the VM once the other has dropped it
            while (a.get("/v1/vms/" + vm).status() == 200 && b.get("/v1/vms/" + vm).status() == 200) {
                assertThat(System.nanoTime()).as("one side drops the VM\n" + hosts.logs()).isLessThan(deadline);
                Thread.sleep(200);
            }
            expect = expect.split("\\|")[b.get("/v1/vms/" + vm).status() == 200 ? 1 : 0];
        }
        boolean onB = expect.startsWith("B");
        TestHttp running = onB ? b : a;
        TestHttp other = onB ? a : b;
        DaemonProcess otherHost = onB ? hosts.a : hosts.b;
        String want = expect.endsWith("-crashed") ? "crashed" : "running";
        JsonNode v;
        while (true) {
            v = running.get("/v1/vms/" + vm).json();
            JsonNode o = other.get("/v1/vms/" + vm).json();
            assertThat(v.path("state").asText().equals("running") && o.path("state").asText().equals("running"))
                    .as("never running on two hosts: " + v + " / " + o).isFalse();
            boolean ok = want.equals(v.path("state").asText()) && (v.path("job").isNull() || v.path("job").isMissingNode())
                    && other.get("/v1/vms/" + vm).status() == 404 && otherHost.qemuPids().isEmpty();
            if (ok) {
                break;
            }
            assertThat(System.nanoTime()).as("settles: on the running side " + v + "; other side "
                    + other.get("/v1/vms/" + vm).text() + ", its QEMUs " + otherHost.qemuPids() + "\n" + hosts.logs())
                    .isLessThan(deadline);
            Thread.sleep(300);
        }
        if (want.equals("crashed")) {
            if (onB) {
                if (reasonNamesPostcopy) {
                    assertThat(v.path("reason").asText()).as("B says why: " + v).contains("post-copy");
                } else {
                    assertThat(v.path("reason").asText()).as("B says how its QEMU ended: " + v).isNotBlank();
                }
                assertThat(hosts.b.qemuPids()).as("B's QEMU is ended").isEmpty();
            }
            return;
        }
        long seq = MigrationTest.lastSeqOf(running, vm);
        MigrationTest.awaitSeqAbove(running, vm, seq);
        String path = v.path("definition").path("disks").get(0).path("path").asText();
        assertThat(path).isEqualTo(disk.toString());
        MigrationTest.ok(running.post("/v1/vms/" + vm + "/destroy"));
        long last = MigrationTest.lastSeqOf(running, vm);
        long onDisk = Long.parseLong(io.jvirt.blockcopy.CopyGuestAccess.sector0(disk, "qcow2"));
        assertThat(onDisk).as("the running side's disk holds every acknowledged write").isGreaterThanOrEqualTo(last);
    }

    private static void awaitPhase(TestHttp api, String vm, TestHttp.Response started, String phase)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        String id = started.json().path("id").asText();
        JsonNode p;
        while (!phase.equals((p = api.get("/v1/vms/" + vm + "/migration").json()).path("phase").asText())
                || !id.equals(p.path("id").asText())) {
            assertThat(System.nanoTime()).as("migration reaches " + phase + ": " + p).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static void awaitLog(DaemonProcess d, String text, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (!Files.readString(d.log()).contains(text)) {
            assertThat(System.nanoTime()).as("log has: " + text).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static void awaitFile(Path f, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!Files.exists(f)) {
            assertThat(System.nanoTime()).as("reached: " + f).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
