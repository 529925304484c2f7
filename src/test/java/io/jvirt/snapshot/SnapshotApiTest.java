package io.jvirt.snapshot;

import static io.jvirt.snapshot.SnapshotGuest.expect;
import static io.jvirt.snapshot.SnapshotGuest.expectAt;
import static io.jvirt.snapshot.SnapshotGuest.ok;
import static io.jvirt.snapshot.SnapshotGuest.write;
import static io.jvirt.snapshot.SnapshotGuest.writeAt;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import io.jvirt.storage.QemuImg;
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

    static String backingOf(Path image) {
        JsonNode info = new QemuImg().info(image, "qcow2");
        return info.path("full-backing-filename").asText(info.path("backing-filename").asText());
    }

    static JsonNode snapshotNamed(String vm, String name) {
        for (JsonNode s : ok(api.get("/v1/vms/" + vm + "/snapshots")).path("snapshots")) {
            if (s.path("name").asText().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /**
     * Deleting an external snapshot in the middle of the chain merges its layer into the image below (block-commit
     * with top/base nodes while the VM runs, qemu-img commit + rebase while it is stopped): every sector written
     * before each snapshot still reads back, in the running QEMU and in a fresh one, and a later snapshot still
     * reverts to its own data.
     */
    @Test
    void deletingAMiddleExternalSnapshotKeepsEveryLayer() throws Exception {
        Path dir = Files.createDirectories(daemon.root().resolve("img3"));
        Path disk = TestGuest.newDisk(dir.resolve("m.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", SnapshotGuest.definition("m1", disk)).status()).isEqualTo(201);
        ok(api.post("/v1/vms/m1/start?wait=true"));
        ConsoleReader console = SnapshotGuest.console(api, "m1");
        Path e1 = dir.resolve("m1-vda-e1.qcow2");
        Path e2 = dir.resolve("m1-vda-e2.qcow2");
        Path e3 = dir.resolve("m1-vda-e3.qcow2");
        Path e4 = dir.resolve("m1-vda-e4.qcow2");
        try {
            writeAt(api, console, "m1", "vda", 1, "one11");
            ok(snapshot("m1", Map.of("name", "e1", "external", true)));
            writeAt(api, console, "m1", "vda", 2, "two22");
            ok(snapshot("m1", Map.of("name", "e2", "external", true)));
            writeAt(api, console, "m1", "vda", 3, "three");
            // chain: m.qcow2 <- e1 <- e2 (active). e1 is not the leaf: its layer e1 (sector 2) goes into m.qcow2
            ok(api.delete("/v1/vms/m1/snapshots/e1?wait=true"));
            assertThat(e1).doesNotExist();
            assertThat(backingOf(e2)).isEqualTo(disk.toString());
            JsonNode live = ok(api.get("/v1/vms/m1/snapshots?live=true"));
            assertThat(live.path("live").path("vda").path("file").asText()).isEqualTo(e2.toString());
            assertThat(live.path("snapshots")).hasSize(1);
            JsonNode left = snapshotNamed("m1", "e2");
            assertThat(left.path("disks").get(0).path("image").asText()).isEqualTo(disk.toString());
            assertThat(left.has("parent")).isFalse();
            for (int i = 1; i <= 3; i++) {
                expectAt(api, console, "m1", "vda", i, new String[] {"one11", "two22", "three"}[i - 1]);
            }

            writeAt(api, console, "m1", "vda", 4, "four4");
            ok(snapshot("m1", Map.of("name", "e3", "external", true)));
            writeAt(api, console, "m1", "vda", 5, "five5");
            writeAt(api, console, "m1", "vda", 6, "old66");
            ok(snapshot("m1", Map.of("name", "e4", "external", true)));
            writeAt(api, console, "m1", "vda", 6, "new66");
        } finally {
            console.close();
        }
        api.post("/v1/vms/m1/destroy");
        // stopped: m.qcow2 <- e2 <- e3 <- e4; deleting e3 commits e3 into e2 and rebases e4 onto e2
        JsonNode defBefore = api.get("/v1/vms/m1").json().path("definition");
        ok(api.delete("/v1/vms/m1/snapshots/e3?wait=true"));
        assertThat(e3).doesNotExist();
        assertThat(backingOf(e4)).isEqualTo(e2.toString());
        assertThat(api.get("/v1/vms/m1").json().path("definition")).isEqualTo(defBefore);
        assertThat(snapshotNamed("m1", "e4").path("disks").get(0).path("image").asText()).isEqualTo(e2.toString());
        assertThat(snapshotNamed("m1", "e4").path("parent").asText()).isEqualTo("e2");
        ok(api.post("/v1/vms/m1/start?wait=true"));
        console = SnapshotGuest.console(api, "m1", 2);
        try {
            String[] want = {"one11", "two22", "three", "four4", "five5", "new66"};
            for (int i = 1; i <= 6; i++) {
                expectAt(api, console, "m1", "vda", i, want[i - 1]);
            }
            ok(api.post("/v1/vms/m1/snapshots/e4/revert?wait=true"));
            console.close();
            console = SnapshotGuest.console(api, "m1", 3);
            expectAt(api, console, "m1", "vda", 5, "five5");
            expectAt(api, console, "m1", "vda", 6, "old66");

            // a second branch on e2 (snapshot e5 on the revert's top, revert to e4 again): e2 now backs two
            // images, so deleting e4 cannot merge and is refused, changing nothing
            ok(snapshot("m1", Map.of("name", "e5", "external", true)));
            ok(api.post("/v1/vms/m1/snapshots/e4/revert?wait=true"));
            console.close();
            console = SnapshotGuest.console(api, "m1", 4);
            JsonNode treeBefore = ok(api.get("/v1/vms/m1/snapshots"));
            JsonNode def = api.get("/v1/vms/m1").json().path("definition");
            TestHttp.Response refused = api.delete("/v1/vms/m1/snapshots/e4?wait=true");
            assertThat(refused.errorCode()).as(refused.toString()).isEqualTo("invalid-state");
            assertThat(refused.text()).contains("backing file of 2 images");
            assertThat(ok(api.get("/v1/vms/m1/snapshots"))).isEqualTo(treeBefore);
            assertThat(api.get("/v1/vms/m1").json().path("definition")).isEqualTo(def);
            assertThat(e2).exists();
            expectAt(api, console, "m1", "vda", 6, "old66");
        } finally {
            console.close();
            api.post("/v1/vms/m1/destroy");
        }
    }
}
