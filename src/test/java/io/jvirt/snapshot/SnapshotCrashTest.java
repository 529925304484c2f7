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
        return api.get("/v1/vms/c1").json().path("definition").path("disks").get(0).path("path").asText();
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
            daemon.env.put("JVIRT_FAULT", "snapshot:fail-before-transaction");
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
}
