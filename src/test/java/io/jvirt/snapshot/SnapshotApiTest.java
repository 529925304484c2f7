package io.jvirt.snapshot;

import static io.jvirt.snapshot.SnapshotGuest.expect;
import static io.jvirt.snapshot.SnapshotGuest.ok;
import static io.jvirt.snapshot.SnapshotGuest.write;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Disk snapshots of a real running tiny guest: internal and external, revert, delete, and refusals. */
class SnapshotApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
    }

    @AfterAll
    static void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
    }

    static TestHttp.Response snapshot(String vm, Map<String, Object> body) {
        return api.post("/v1/vms/" + vm + "/snapshots?wait=true", JSON.valueToTree(body));
    }

    @Test
    void internalAndExternalSnapshotsRevertToTheirData() throws Exception {
        Path dir = Files.createDirectories(daemon.root().resolve("img1"));
        Path disk = TestGuest.newDisk(dir.resolve("a.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", SnapshotGuest.definition("s1", disk)).status()).isEqualTo(201);
        ok(api.post("/v1/vms/s1/start?wait=true"));
        ConsoleReader console = SnapshotGuest.console(api, "s1");
        try {
            write(api, console, "s1", "vda", "first");
            ok(snapshot("s1", Map.of("name", "int1")));

            // refusals: nothing changes
            TestHttp.Response dup = snapshot("s1", Map.of("name", "int1"));
            assertThat(dup.status()).isEqualTo(409);
            assertThat(dup.errorCode()).isEqualTo("snapshot-exists");
            TestHttp.Response unknown = snapshot("s1", Map.of("name", "x", "disks", java.util.List.of("vdz")));
            assertThat(unknown.errorCode()).isEqualTo("disk-not-found");
            assertThat(snapshot("s1", Map.of("name", "../x")).errorCode()).isEqualTo("invalid-name");
            assertThat(api.post("/v1/vms/s1/snapshots/nope/revert?wait=true").errorCode()).isEqualTo("snapshot-not-found");
            JsonNode list = ok(api.get("/v1/vms/s1/snapshots?live=true"));
            assertThat(list.path("snapshots")).hasSize(1);
            assertThat(list.path("live").path("vda").path("snapshots").toString()).isEqualTo("[\"int1\"]");

            write(api, console, "s1", "vda", "secnd");
            expect(api, console, "s1", "vda", "secnd");
            ok(api.post("/v1/vms/s1/snapshots/int1/revert?wait=true"));
            console.close();
            console = SnapshotGuest.console(api, "s1", 2); // QEMU restarted on the reverted image
            assertThat(api.get("/v1/vms/s1").json().path("state").asText()).isEqualTo("running");
            expect(api, console, "s1", "vda", "first");

            // external: a new overlay becomes the top only once QEMU switched
            write(api, console, "s1", "vda", "third");
            ok(snapshot("s1", Map.of("name", "ext1", "external", true)));
            Path overlay = dir.resolve("s1-vda-ext1.qcow2");
            assertThat(api.get("/v1/vms/s1").json().path("definition").path("disks").get(0).path("path").asText())
                    .isEqualTo(overlay.toString());
            assertThat(ok(api.get("/v1/vms/s1/snapshots?live=true")).path("live").path("vda").path("file").asText())
                    .isEqualTo(overlay.toString());
            assertThat(ok(api.get("/v1/vms/s1/snapshots")).path("current").asText()).isEqualTo("ext1");
            write(api, console, "s1", "vda", "forth");
            // an internal snapshot below an external one cannot be reverted (its image is now a backing file)
            assertThat(api.post("/v1/vms/s1/snapshots/int1/revert?wait=true").errorCode()).isEqualTo("invalid-state");
            ok(api.post("/v1/vms/s1/snapshots/ext1/revert?wait=true"));
            console.close();
            console = SnapshotGuest.console(api, "s1", 3);
            expect(api, console, "s1", "vda", "third");
            assertThat(overlay).as("the replaced top is discarded").doesNotExist();
            assertThat(disk).exists();

            // deleting the leaf external snapshot merges the top into the frozen image (block-commit + pivot)
            write(api, console, "s1", "vda", "fifth");
            ok(api.delete("/v1/vms/s1/snapshots/ext1?wait=true"));
            JsonNode live = ok(api.get("/v1/vms/s1/snapshots?live=true"));
            assertThat(live.path("live").path("vda").path("file").asText()).isEqualTo(disk.toString());
            assertThat(api.get("/v1/vms/s1").json().path("definition").path("disks").get(0).path("path").asText())
                    .isEqualTo(disk.toString());
            expect(api, console, "s1", "vda", "fifth");
            ok(api.delete("/v1/vms/s1/snapshots/int1?wait=true"));
            assertThat(ok(api.get("/v1/vms/s1/snapshots?live=true")).path("live").path("vda").path("snapshots")).isEmpty();
        } finally {
            console.close();
        }
        api.post("/v1/vms/s1/destroy");
        // stopped VM: internal snapshots through qemu-img
        ok(snapshot("s1", Map.of("name", "off1")));
        assertThat(ok(api.get("/v1/vms/s1/snapshots")).path("snapshots").get(0).path("vmState").asText()).isEqualTo("shutoff");
        ok(api.delete("/v1/vms/s1/snapshots/off1?wait=true"));
        api.delete("/v1/vms/s1");
    }

    @Test
    void multiDiskSnapshotIsAllOrNothing() throws Exception {
        Path dir = Files.createDirectories(daemon.root().resolve("img2"));
        Path a = TestGuest.newDisk(dir.resolve("a.qcow2"), "qcow2", "16M");
        Path b = TestGuest.newDisk(dir.resolve("b.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", SnapshotGuest.definition("s2", a, b)).status()).isEqualTo(201);
        ok(api.post("/v1/vms/s2/start?wait=true"));
        try {
            JsonNode before = ok(api.get("/v1/vms/s2/snapshots?live=true")).path("live");
            JsonNode defBefore = api.get("/v1/vms/s2").json().path("definition");
            Files.writeString(dir.resolve("s2-vdb-both.qcow2"), "in the way");
            TestHttp.Response refused = snapshot("s2", Map.of("name", "both", "external", true));
            assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
            assertThat(refused.text()).contains("vdb").contains("already exists");
            assertThat(ok(api.get("/v1/vms/s2/snapshots?live=true")).path("live")).isEqualTo(before);
            assertThat(api.get("/v1/vms/s2").json().path("definition")).isEqualTo(defBefore);
            assertThat(dir.resolve("s2-vda-both.qcow2")).doesNotExist();
            assertThat(ok(api.get("/v1/vms/s2/snapshots")).path("snapshots")).isEmpty();

            // a link planted at the overlay path is refused too (never written through)
            Files.delete(dir.resolve("s2-vdb-both.qcow2"));
            Files.createSymbolicLink(dir.resolve("s2-vdb-both.qcow2"), daemon.root().resolve("missing-dir/x.qcow2"));
            TestHttp.Response linked = snapshot("s2", Map.of("name", "both", "external", true));
            assertThat(linked.status()).as(linked.toString()).isEqualTo(400);
            assertThat(Files.isSymbolicLink(dir.resolve("s2-vdb-both.qcow2"))).isTrue();
            assertThat(api.get("/v1/vms/s2").json().path("definition")).isEqualTo(defBefore);

            // both disks at once: one transaction
            ok(snapshot("s2", Map.of("name", "both", "disks", java.util.List.of("vda", "vdb"))));
            JsonNode live = ok(api.get("/v1/vms/s2/snapshots?live=true")).path("live");
            assertThat(live.path("vda").path("snapshots").toString()).contains("both");
            assertThat(live.path("vdb").path("snapshots").toString()).contains("both");
            Files.delete(dir.resolve("s2-vdb-both.qcow2"));
            ok(snapshot("s2", Map.of("name", "ext", "external", true)));
            JsonNode def = api.get("/v1/vms/s2").json().path("definition").path("disks");
            assertThat(def.get(0).path("path").asText()).endsWith("s2-vda-ext.qcow2");
            assertThat(def.get(1).path("path").asText()).endsWith("s2-vdb-ext.qcow2");
        } finally {
            api.post("/v1/vms/s2/destroy");
        }
    }
}
