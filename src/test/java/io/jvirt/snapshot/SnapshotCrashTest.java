package io.jvirt.snapshot;

import static io.jvirt.snapshot.SnapshotGuest.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The daemon dies (Runtime.halt via JVIRT_FAULT) in the middle of an external snapshot of a running VM; after a
 * restart the definition, the snapshot metadata and QEMU's actual top node agree, and the guest's writes are kept.
 */
class SnapshotCrashTest {

    private static void crashDuring(DaemonProcess daemon, String step, String snapshot) throws Exception {
        daemon.kill9(); // QEMU keeps running; the next daemon adopts it with the fault armed
        daemon.env.put("JVIRT_FAULT", "snapshot:" + step);
        daemon.restart();
        long pid = daemon.pid();
        try {
            daemon.http().post("/v1/vms/c1/snapshots", new ObjectMapper().valueToTree(Map.of("name", snapshot, "external", true)));
        } catch (RuntimeException | AssertionError e) {
            // the daemon may halt before it answers
        }
        DaemonProcess.awaitGone(pid, Duration.ofSeconds(60));
        assertThat(Files.readString(daemon.log())).contains("JVIRT_FAULT: halting at snapshot:" + step);
        daemon.env.put("JVIRT_FAULT", null);
        daemon.restart();
    }

    private static String definedPath(TestHttp api) {
        return definedPath(api, "c1");
    }

    private static String definedPath(TestHttp api, String vm) {
        return api.get("/v1/vms/" + vm).json().path("definition").path("disks").get(0).path("path").asText();
    }

    @Test
    void crashDuringExternalSnapshotIsReconciledWithQemu() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("c.qcow2"), "qcow2", "16M");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("c1", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/c1/start?wait=true"));
            long qemu = api.get("/v1/vms/c1").json().path("runtime").path("pid").asLong();

            // 1) QEMU switched to the overlay, the definition was not yet updated: recovery adopts the overlay
            crashDuring(daemon, "after-switch", "e1");
            api = daemon.http();
            Path e1 = dir.resolve("c1-vda-e1.qcow2");
            JsonNode live = ok(api.get("/v1/vms/c1/snapshots?live=true"));
            assertThat(live.path("live").path("vda").path("file").asText()).isEqualTo(e1.toString());
            assertThat(definedPath(api)).isEqualTo(e1.toString());
            assertThat(live.path("snapshots").get(0).path("name").asText()).isEqualTo("e1");
            assertThat(live.path("current").asText()).isEqualTo("e1");
            assertThat(api.get("/v1/vms/c1").json().path("runtime").path("pid").asLong()).isEqualTo(qemu);

            // 2) only the intent was recorded: recovery undoes (no overlay, no snapshot, definition unchanged)
            crashDuring(daemon, "after-intent", "e2");
            api = daemon.http();
            live = ok(api.get("/v1/vms/c1/snapshots?live=true"));
            assertThat(live.path("live").path("vda").path("file").asText()).isEqualTo(e1.toString());
            assertThat(definedPath(api)).isEqualTo(e1.toString());
            assertThat(live.path("snapshots")).hasSize(1);
            assertThat(dir.resolve("c1-vda-e2.qcow2")).doesNotExist();

            // 3) a failure (not a crash) after QEMU switched: the job asks QEMU and keeps the overlay it runs on
            daemon.kill9();
            daemon.env.put("JVIRT_FAULT", "snapshot:fail-after-switch");
            daemon.restart();
            api = daemon.http();
            ok(api.post("/v1/vms/c1/snapshots?wait=true", new ObjectMapper().valueToTree(Map.of("name", "e3", "external", true))));
            Path e3 = dir.resolve("c1-vda-e3.qcow2");
            live = ok(api.get("/v1/vms/c1/snapshots?live=true"));
            assertThat(live.path("live").path("vda").path("file").asText()).isEqualTo(e3.toString());
            assertThat(definedPath(api)).isEqualTo(e3.toString());
            assertThat(live.path("current").asText()).isEqualTo("e3");
            daemon.kill9();
            daemon.env.put("JVIRT_FAULT", null);
            daemon.restart();
            api = daemon.http();

            // the guest still writes through, and a fresh QEMU from the definition sees it
            try (ConsoleReader console = SnapshotGuest.console(api, "c1")) {
                SnapshotGuest.write(api, console, "c1", "vda", "kept!");
            }
            api.post("/v1/vms/c1/destroy");
            ok(api.post("/v1/vms/c1/start?wait=true"));
            try (ConsoleReader console = SnapshotGuest.console(api, "c1", 2)) {
                SnapshotGuest.expect(api, console, "c1", "vda", "kept!");
            }
            api.post("/v1/vms/c1/destroy");
        }
    }
    @Test
    void crashDuringRevertIsFinishedOnRestart() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("r.qcow2"), "qcow2", "16M");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("c1", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/c1/start?wait=true"));
            try (ConsoleReader console = SnapshotGuest.console(api, "c1")) {
                SnapshotGuest.write(api, console, "c1", "vda", "snapA");
                ok(api.post("/v1/vms/c1/snapshots?wait=true", new ObjectMapper().valueToTree(Map.of("name", "r1"))));
                SnapshotGuest.write(api, console, "c1", "vda", "later");
            }
            daemon.kill9();
            daemon.env.put("JVIRT_FAULT", "snapshot:after-intent");
            daemon.restart();
            long pid = daemon.pid();
            try {
                daemon.http().post("/v1/vms/c1/snapshots/r1/revert");
            } catch (RuntimeException | AssertionError e) {
                // the daemon may halt before it answers
            }
            DaemonProcess.awaitGone(pid, Duration.ofSeconds(60));
            daemon.env.put("JVIRT_FAULT", null);
            daemon.restart();
            api = daemon.http();
            assertThat(api.get("/v1/vms/c1").json().path("state").asText()).isEqualTo("running");
            assertThat(ok(api.get("/v1/vms/c1/snapshots")).path("current").asText()).isEqualTo("r1");
            try (ConsoleReader console = SnapshotGuest.console(api, "c1", 2)) {
                SnapshotGuest.expect(api, console, "c1", "vda", "snapA");
            }
            api.post("/v1/vms/c1/destroy");
        }
    }
    @Test
    void failureAfterBothOverlaysWereAddedChangesNoDisk() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path a = TestGuest.newDisk(dir.resolve("a.qcow2"), "qcow2", "16M");
            Path b = TestGuest.newDisk(dir.resolve("b.qcow2"), "qcow2", "16M");
            daemon.kill9();
            daemon.env.put("JVIRT_FAULT", "snapshot:fail-before-switch");
            daemon.restart();
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("c2", a, b)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/c2/start?wait=true"));
            JsonNode before = ok(api.get("/v1/vms/c2/snapshots?live=true")).path("live");
            JsonNode defBefore = api.get("/v1/vms/c2").json().path("definition");
            TestHttp.Response failed = api.post("/v1/vms/c2/snapshots?wait=true",
                    new ObjectMapper().valueToTree(Map.of("name", "x", "external", true)));
            assertThat(failed.status()).as(failed.toString()).isEqualTo(500);
            assertThat(ok(api.get("/v1/vms/c2/snapshots?live=true")).path("live")).isEqualTo(before);
            assertThat(api.get("/v1/vms/c2").json().path("definition")).isEqualTo(defBefore);
            assertThat(ok(api.get("/v1/vms/c2/snapshots")).path("snapshots")).isEmpty();
            assertThat(dir.resolve("c2-vda-x.qcow2")).doesNotExist();
            assertThat(dir.resolve("c2-vdb-x.qcow2")).doesNotExist();
            api.post("/v1/vms/c2/destroy");
        }
    }

    /** Restarts the daemon with the fault armed, sends the request, waits for the halt, restarts it clean. */
    private static void crashDuring(DaemonProcess daemon, String step, java.util.function.Consumer<TestHttp> request) throws Exception {
        daemon.kill9();
        daemon.env.put("JVIRT_FAULT", "snapshot:" + step);
        daemon.restart();
        long pid = daemon.pid();
        try {
            request.accept(daemon.http());
        } catch (RuntimeException | AssertionError e) {
            // the daemon may halt before it answers
        }
        DaemonProcess.awaitGone(pid, Duration.ofSeconds(60));
        assertThat(Files.readString(daemon.log())).contains("JVIRT_FAULT: halting at snapshot:" + step); // this start's log
        daemon.env.put("JVIRT_FAULT", null);
        daemon.restart();
    }

    private static boolean intentLeft(DaemonProcess daemon) throws java.io.IOException {
        try (var files = Files.walk(daemon.root())) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith("snapshot-intent"));
        }
    }

    private static void expectSectors(TestHttp api, ConsoleReader console, String... words) {
        for (int i = 0; i < words.length; i++) {
            SnapshotGuest.expectAt(api, console, "c3", "vda", i + 1, words[i]);
        }
    }

    /**
     * The daemon dies while deleting a snapshot in the middle of the chain: after the intent (recovery runs the
     * block-commit on the adopted QEMU), after QEMU merged (recovery only updates definition, tree and files), and
     * after qemu-img merged for a stopped VM. Every time the merged file is gone, the tree names the image it went
     * into, and the guest reads every layer's data.
     */
    @Test
    void crashDuringMiddleExternalDeleteIsFinishedOnRestart() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("d.qcow2"), "qcow2", "16M");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("c3", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/c3/start?wait=true"));
            ObjectMapper json = new ObjectMapper();
            try (ConsoleReader console = SnapshotGuest.console(api, "c3")) {
                for (int i = 1; i <= 6; i++) {
                    SnapshotGuest.writeAt(api, console, "c3", "vda", i, "sec" + i + "!");
                    ok(api.post("/v1/vms/c3/snapshots?wait=true", json.valueToTree(Map.of("name", "m" + i, "external", true))));
                }
            }
            String[] all = {"sec1!", "sec2!", "sec3!", "sec4!", "sec5!", "sec6!"};
            long qemu = api.get("/v1/vms/c3").json().path("runtime").path("pid").asLong();
            // chain: d <- m1 <- m2 <- ... <- m6 (active); each delete merges file m<k> into the one below
            String[][] cases = {{"after-intent", "m2"}, {"after-merge", "m4"}};
            for (String[] c : cases) {
                String snap = c[1];
                crashDuring(daemon, c[0], h -> h.delete("/v1/vms/c3/snapshots/" + snap));
                api = daemon.http();
                int k = Integer.parseInt(snap.substring(1));
                assertThat(dir.resolve("c3-vda-" + snap + ".qcow2")).as(c[0]).doesNotExist();
                JsonNode tree = ok(api.get("/v1/vms/c3/snapshots"));
                assertThat(tree.toString()).doesNotContain("\"" + snap + "\"").doesNotContain("c3-vda-" + snap + ".qcow2");
                JsonNode child = null;
                for (JsonNode s : tree.path("snapshots")) {
                    if (s.path("name").asText().equals("m" + (k + 1))) {
                        child = s;
                    }
                }
                assertThat(child.path("disks").get(0).path("image").asText()).as(c[0])
                        .isEqualTo(dir.resolve("c3-vda-m" + (k - 1) + ".qcow2").toString());
                assertThat(api.get("/v1/vms/c3").json().path("runtime").path("pid").asLong()).isEqualTo(qemu);
                assertThat(intentLeft(daemon)).as("intent removed").isFalse();
            }
            try (ConsoleReader console = SnapshotGuest.console(api, "c3")) {
                expectSectors(api, console, all);
            }

            // stopped VM: halt after qemu-img committed file c3-vda-m5 into c3-vda-m3 and rebased c3-vda-m6 onto it
            api.post("/v1/vms/c3/destroy");
            crashDuring(daemon, "after-merge", h -> h.delete("/v1/vms/c3/snapshots/m5"));
            api = daemon.http();
            assertThat(dir.resolve("c3-vda-m5.qcow2")).doesNotExist();
            assertThat(ok(api.get("/v1/vms/c3/snapshots")).toString()).doesNotContain("\"m5\"");
            assertThat(api.get("/v1/vms/c3").json().path("state").asText()).isEqualTo("shutoff");
            ok(api.post("/v1/vms/c3/start?wait=true"));
            try (ConsoleReader console = SnapshotGuest.console(api, "c3", 2)) {
                expectSectors(api, console, all);
            }
            api.post("/v1/vms/c3/destroy");
        }
    }

    /**
     * The daemon dies after QEMU switched the disks of an external memory snapshot but before the memory was saved:
     * the guest is still paused in the snapshot's state, so recovery saves the memory then, records the snapshot
     * with memory and lets the guest continue; reverting to it resumes the guest (no boot) with the disk as it was.
     */
    @Test
    void crashDuringExternalMemorySnapshotSavesTheMemoryOnRestart() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("x.qcow2"), "qcow2", "16M");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("c4", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/c4/start?wait=true"));
            try (ConsoleReader console = SnapshotGuest.console(api, "c4")) {
                SnapshotGuest.writeAt(api, console, "c4", "vda", 1, "snap!");
            }
            long qemu = api.get("/v1/vms/c4").json().path("runtime").path("pid").asLong();
            crashDuring(daemon, "after-switch", h -> h.post("/v1/vms/c4/snapshots",
                    new ObjectMapper().valueToTree(Map.of("name", "x1", "memory", true, "external", true))));
            api = daemon.http();
            assertThat(api.get("/v1/vms/c4").json().path("runtime").path("pid").asLong()).isEqualTo(qemu);
            assertThat(api.get("/v1/vms/c4").json().path("state").asText()).isEqualTo("running");
            JsonNode snap = ok(api.get("/v1/vms/c4/snapshots")).path("snapshots").get(0);
            assertThat(snap.path("memory").asBoolean()).as(snap.toString()).isTrue();
            assertThat(Files.size(dir.resolve("c4-x1.mem"))).isGreaterThan(1 << 20);
            assertThat(dir.resolve("c4-x1.mem.part")).doesNotExist();
            assertThat(definedPath(api, "c4")).isEqualTo(dir.resolve("c4-vda-x1.qcow2").toString());
            try (ConsoleReader console = new ConsoleReader(api, "c4")) {
                SnapshotGuest.writeAt(api, console, "c4", "vda", 1, "later");
            }
            ok(api.post("/v1/vms/c4/snapshots/x1/revert?wait=true"));
            try (ConsoleReader console = new ConsoleReader(api, "c4")) {
                SnapshotGuest.expectAt(api, console, "c4", "vda", 1, "snap!");
                assertThat(console.text()).doesNotContain(TestGuest.READY);
            }
            api.post("/v1/vms/c4/destroy");
        }
    }
}
