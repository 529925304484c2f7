package io.jvirt.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The "destination QEMU" column of docs/migration.md's phase x failure table: B's QEMU is killed (SIGKILL) while
 * the source daemon is held at a phase ({@code JVIRT_FAULT=migration:hold-<step>:<dir>}), then the source goes on.
 * In every cell the destination never ran the guest (it runs it only on Finish, after its incoming migration
 * completed), so the source's state is the only whole one: its migration or mirror fails, or Finish is refused, and
 * it resumes its own QEMU (the same process: the guest was never restarted) even from {@code postmigrate}. B is
 * left with neither the VM, a QEMU, nor a copied image; A's disk holds the last write the guest acknowledged.
 * Three cells past the source's Finish (the fault on B's side) pin the line between the two outcomes: B's QEMU
 * dead before its guest said RESUME: A; after: the VM stays on B (crashed), the source ends its QEMU.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MigrationTargetQemuCrashTest {
    TwoHosts hosts;
    /** MigrationCrashTest's outcome check (VM on exactly one host, disk up to date), on these hosts. */
    final MigrationCrashTest outcome = new MigrationCrashTest();
    int n;
    /** The source's heartbeat period: a fifth of the peer bound. */
    static final long HEARTBEAT_MS = 15_000 / 5;

    /** {@code -Dtargetqemu.cells=device,completed}: only those cells (to rerun a failure). */
    static final String ONLY = System.getProperty("targetqemu.cells");

    static Stream<Arguments> cells() {
        return Stream.of(
                Arguments.of("prepared", false),
                Arguments.of("mirroring", true),
                Arguments.of("mirrors-ready", true),
                Arguments.of("switchover", true),
                // QEMU sends the device state after the DEVICE event the source is held on: killed before its last
                // bytes the migration fails; killed after, the source's QEMU completed (postmigrate) and Finish is
                // refused: either way the source resumes
                Arguments.of("device", true),
                Arguments.of("completed", false),
                // the same, but the source goes on only after B cleaned up and A's heartbeat heard B's "no such
                // migration": the channel is lost before Finish is sent
                Arguments.of("completed-late", false),
                // past the source's Finish: B's QEMU killed the moment it says RESUME (JVIRT_FAULT on B:
                // migration:qemu-resumed): the guest ran on B, so B keeps the VM (crashed) and its copied image, and
                // the source ends its QEMU: it must never resume a guest that ran elsewhere
                Arguments.of("resumed", true),
                // B's QEMU killed after B recorded `finishing`, before its cont: the guest never ran there (no
                // RESUME), so the source's postmigrate state is still the latest and it resumes: A
                Arguments.of("finishing", true),
                // B's start succeeded (the guest runs there) and then its side fails before `done` is recorded
                // (JVIRT_FAULT on B: migration:fail-running): B must keep the running VM, not undefine it and let
                // the source resume an older state: B
                Arguments.of("running", true))
                .filter(a -> ONLY == null || List.of(ONLY.split(",")).contains((String) a.get()[0]));
    }

    @BeforeAll
    void start() throws Exception {
        // a 15 s peer bound, as MigrationCrashTest: a starved peer on a loaded 2-core machine is not taken for lost
        hosts = TwoHosts.start("--migration-peer-timeout", "15");
        outcome.hosts = hosts;
    }

    @AfterAll
    void stop() {
        if (hosts != null) {
            hosts.close();
        }
    }

    @ParameterizedTest(name = "destination QEMU at {0} (copy storage: {1})")
    @MethodSource("cells")
    void cell(String cell, boolean copy) throws Exception {
        String vm = "q" + (++n);
        Path hold = hosts.dir.resolve("hold-" + vm);
        // cells past the source's Finish: the fault acts on B's side and the source is not held
        String onB = switch (cell) {
            case "resumed", "finishing" -> "qemu-" + cell;
            case "running" -> "fail-" + cell;
            default -> null;
        };
        String step = cell.endsWith("-late") ? cell.substring(0, cell.length() - "-late".length()) : cell;
        hosts.a.kill9();
        hosts.a.env.put("JVIRT_FAULT", onB != null ? null : "migration:hold-" + step + ":" + hold);
        hosts.a.restart();
        if (onB != null) {
            hosts.b.kill9();
            hosts.b.env.put("JVIRT_FAULT", "migration:" + onB);
            hosts.b.restart();
        }
        try {
            // mirroring: 32 MiB of data at 2 MiB/s, so the kill comes long before the mirror is READY (an empty
            // image would be READY at once: zero clusters cost a mirror nothing)
            boolean slowCopy = step.equals("mirroring");
            Path disk = hosts.bootWritingGuest(vm, slowCopy ? 32 : 0);
            List<Long> sourceQemu = hosts.a.qemuPids();
            assertThat(sourceQemu).hasSize(1);
            ObjectNode body = MigrationTest.body(TwoHosts.toB());
            if (copy) {
                body.put("copyStorage", "all");
            }
            if (slowCopy) {
                body.put("bandwidthMiB", 2);
            }
            TestHttp.Response started = hosts.apiA().post("/v1/vms/" + vm + "/migration", body);
            assertThat(started.status()).as(started.toString()).isEqualTo(202);
            if (onB == null) {
                killDestinationQemuAt(step, hold, vm, copy, cell.endsWith("-late"));
            }
            JsonNode op = MigrationTest.waitOp(hosts.apiA(), started);
            System.out.println("cell " + cell + ": operation " + op.path("status").asText() + ": " + op.path("error"));
            String expect = cell.equals("resumed") ? "B-crashed" : cell.equals("running") ? "B" : "A";
            assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs())
                    .isEqualTo(expect.startsWith("B") ? "success" : "failure");
            if (slowCopy) {
                assertThat(op.path("error").path("message").asText()).as("the mirror is what failed").contains("storage copy");
            }
            if (expect.startsWith("B")) {
                JsonNode there = hosts.apiB().get("/v1/vms/" + vm).json();
                assertThat(there.path("definition").path("disks").get(0).path("path").asText())
                        .as("B keeps the copy its guest wrote").isEqualTo(copiedImage(vm).toString());
                outcome.settle(vm, expect, disk, copy);
                assertThat(copiedImage(vm)).exists();
            } else {
                awaitRunningOnA(vm);
                assertThat(hosts.a.qemuPids()).as("the source's own QEMU went on (resumed, never restarted)")
                        .isEqualTo(sourceQemu);
                if (step.equals("completed")) {
                    // the table's claim, seen: the source's QEMU had completed (postmigrate) and was resumed from it
                    assertThat(Files.readString(hosts.a.log())).contains("VM " + vm + ": resuming the source guest (it was postmigrate)");
                }
                outcome.settle(vm, "A", disk, copy);
                assertThat(copiedImage(vm)).as("B leaves no copied image behind").doesNotExist();
            }
        } finally {
            if (Files.isDirectory(hold) && !Files.exists(hold.resolve("go"))) {
                Files.createFile(hold.resolve("go")); // never leave the source held
            }
            for (DaemonProcess h : new DaemonProcess[] {hosts.a, hosts.b}) {
                h.http().post("/v1/vms/" + vm + "/destroy");
                h.http().send("DELETE", "/v1/vms/" + vm, null, null);
            }
            if (onB != null) {
                hosts.b.kill9();
                hosts.b.env.put("JVIRT_FAULT", null);
                hosts.b.restart();
            }
        }
    }

    /**
     * The source is held at {@code step}: kill B's QEMU (and wait until it is gone), then let the source go on;
     * {@code late}: only after B cleaned up and the source's heartbeat had time to hear B's "no such migration".
     */
    private void killDestinationQemuAt(String step, Path hold, String vm, boolean copy, boolean late) throws Exception {
        awaitFile(hold.resolve("reached-" + step), Duration.ofSeconds(120));
        List<Long> destQemu = hosts.b.qemuPids();
        assertThat(destQemu).as("the destination's QEMU waits for the migration").hasSize(1);
        if (copy) {
            assertThat(copiedImage(vm)).as("B made the copy's image").exists();
        }
        ProcessHandle.of(destQemu.get(0)).ifPresent(ProcessHandle::destroyForcibly);
        DaemonProcess.awaitGone(destQemu.get(0), Duration.ofSeconds(30));
        if (late) {
            awaitNoVmOnB(vm);
            Thread.sleep(2 * HEARTBEAT_MS); // two heartbeats: at least one got B's 404 (a lower bound, not a race)
        }
        Files.createFile(hold.resolve("go"));
    }

    private void awaitRunningOnA(String vm) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            JsonNode v = hosts.apiA().get("/v1/vms/" + vm).json();
            if (v.path("state").asText().equals("running") && (v.path("job").isNull() || v.path("job").isMissingNode())) {
                return;
            }
            assertThat(System.nanoTime()).as("the VM runs on A again: " + v + "\n" + hosts.logs()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private void awaitNoVmOnB(String vm) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (hosts.apiB().get("/v1/vms/" + vm).status() != 404) {
            assertThat(System.nanoTime()).as("B cleans up after its QEMU died\n" + hosts.logs()).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private Path copiedImage(String vm) {
        return hosts.b.stateDir().resolve("pools/default/" + vm + "-vda.qcow2");
    }

    private void awaitFile(Path f, Duration within) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!Files.exists(f)) {
            assertThat(System.nanoTime()).as("the source reaches " + f.getFileName() + "\n" + hosts.logs()).isLessThan(deadline);
            Thread.sleep(50); // the fault point's own file: nothing else to wait on
        }
    }
}
