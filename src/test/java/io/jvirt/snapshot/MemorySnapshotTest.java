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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** A whole-VM snapshot (disks + RAM + devices): a counter running in the guest continues from the snapshot's value. */
class MemorySnapshotTest {
    private static final Pattern C = Pattern.compile("(?m)^C=(\\d+)\\r?$");

    static List<Integer> counts(String text) {
        List<Integer> out = new ArrayList<>();
        Matcher m = C.matcher(text);
        while (m.find()) {
            out.add(Integer.parseInt(m.group(1)));
        }
        return out;
    }

    @Test
    void counterContinuesFromTheSnapshotAfterRevert() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("m.qcow2"), "qcow2", "16M");
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("mem", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/mem/start?wait=true"));
            try (ConsoleReader console = SnapshotGuest.console(api, "mem")) {
                SnapshotGuest.type(api, "mem", "i=0; while true; do i=$((i+1)); echo C=$i; sleep 0.2; done &");
                console.await("C=5", SnapshotGuest.timeout());
                int before = console.length();
                TestHttp.Response made = api.post("/v1/vms/mem/snapshots?wait=true",
                        new ObjectMapper().valueToTree(Map.of("name", "m1", "memory", true)));
                JsonNode snap = ok(made).path("result");
                int after = console.length();
                assertThat(snap.path("memory").asBoolean()).isTrue();
                assertThat(snap.path("pauseMillis").asLong()).as(made.toString()).isGreaterThanOrEqualTo(0);
                System.out.println("memory snapshot guest pause: " + snap.path("pauseMillis").asLong() + " ms");
                List<Integer> around = counts(console.text().substring(before, after));
                int low = counts(console.text().substring(0, before)).getLast();
                int high = around.isEmpty() ? low + 1 : around.getLast() + 1;

                int target = high + 15; // let the counter run well past the snapshot
                console.await("C=" + target, after, SnapshotGuest.timeout());
                int revertAt = console.length();
                ok(api.post("/v1/vms/mem/snapshots/m1/revert?wait=true"));
                console.await("C=", console.length(), SnapshotGuest.timeout());
                console.await("C=", console.length(), SnapshotGuest.timeout());
                List<Integer> resumed = counts(console.text().substring(revertAt));
                int firstAfterRevert = resumed.stream().filter(n -> n <= high + 1).findFirst().orElseThrow(() ->
                        new AssertionError("the counter did not go back: " + resumed));
                assertThat(firstAfterRevert).isBetween(low, high + 1);
                assertThat(api.get("/v1/vms/mem").json().path("state").asText()).isEqualTo("running");
                assertThat(ok(api.get("/v1/vms/mem/snapshots")).path("current").asText()).isEqualTo("m1");

                // refusals
                assertThat(api.post("/v1/vms/mem/snapshots?wait=true", new ObjectMapper().valueToTree(
                        Map.of("name", "m2", "memory", true, "diskOnly", true))).errorCode()).isEqualTo("invalid-argument");
                ok(api.delete("/v1/vms/mem/snapshots/m1?wait=true"));
                assertThat(ok(api.get("/v1/vms/mem/snapshots")).path("snapshots")).isEmpty();
            }
            api.post("/v1/vms/mem/destroy");
        }
    }

    /**
     * External memory snapshot: the guest pauses, the disk switches to an overlay, RAM and devices go to a file by
     * migration over a socket jvirt owns, the guest continues. Reverting starts a new QEMU on a fresh overlay of
     * the frozen image that loads the file: the counter continues from the snapshot's value and the disk reads
     * what it held at the snapshot, not what was written later.
     */
    @Test
    void externalMemorySnapshotRevertsRamAndDisk() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("x.qcow2"), "qcow2", "16M");
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("xm", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/xm/start?wait=true"));
            int low;
            int high;
            try (ConsoleReader console = SnapshotGuest.console(api, "xm")) {
                SnapshotGuest.writeAt(api, console, "xm", "vda", 1, "pre11");
                SnapshotGuest.type(api, "xm", "i=0; while true; do i=$((i+1)); echo C=$i; sleep 0.2; done &");
                console.await("C=5", SnapshotGuest.timeout());
                int before = console.length();
                TestHttp.Response made = api.post("/v1/vms/xm/snapshots?wait=true",
                        new ObjectMapper().valueToTree(Map.of("name", "x1", "memory", true, "external", true)));
                JsonNode snap = ok(made).path("result");
                int after = console.length();
                assertThat(snap.path("memory").asBoolean()).isTrue();
                assertThat(snap.path("kind").asText()).isEqualTo("external");
                assertThat(snap.path("pauseMillis").asLong()).as(made.toString()).isGreaterThan(0);
                Path mem = dir.resolve("xm-x1.mem");
                assertThat(snap.path("memoryFile").asText()).isEqualTo(mem.toString());
                assertThat(Files.size(mem)).isGreaterThan(1 << 20);
                assertThat(dir.resolve("xm-x1.mem.part")).doesNotExist();
                System.out.println("external memory snapshot: guest pause " + snap.path("pauseMillis").asLong() + " ms, memory file "
                        + Files.size(mem) + " bytes");
                assertThat(ok(api.get("/v1/vms/xm/snapshots?live=true")).path("live").path("vda").path("file").asText())
                        .isEqualTo(dir.resolve("xm-vda-x1.qcow2").toString());
                assertThat(api.get("/v1/vms/xm").json().path("state").asText()).isEqualTo("running");
                List<Integer> around = counts(console.text().substring(before, after));
                low = counts(console.text().substring(0, before)).getLast();
                high = around.isEmpty() ? low + 1 : around.getLast() + 1;
                console.await("C=" + (high + 15), after, SnapshotGuest.timeout()); // the guest runs on after the snapshot
                SnapshotGuest.writeAt(api, console, "xm", "vda", 1, "post1");
            }
            long started = System.nanoTime();
            ok(api.post("/v1/vms/xm/snapshots/x1/revert?wait=true"));
            System.out.println("external memory revert: " + (System.nanoTime() - started) / 1_000_000 + " ms");
            assertThat(api.get("/v1/vms/xm").json().path("state").asText()).isEqualTo("running");
            try (ConsoleReader console = new ConsoleReader(api, "xm")) { // a new QEMU: it resumes, it does not boot
                console.await("C=", 0, SnapshotGuest.timeout());
                console.await("C=", console.length(), SnapshotGuest.timeout());
                List<Integer> resumed = counts(console.text());
                assertThat(resumed.getFirst()).as("counter after revert " + resumed).isBetween(low, high + 1);
                assertThat(console.text()).doesNotContain(TestGuest.READY);
                SnapshotGuest.expectAt(api, console, "xm", "vda", 1, "pre11");
            }
            assertThat(ok(api.get("/v1/vms/xm/snapshots")).path("current").asText()).isEqualTo("x1");
            ok(api.delete("/v1/vms/xm/snapshots/x1?wait=true"));
            assertThat(dir.resolve("xm-x1.mem")).doesNotExist();
            assertThat(ok(api.get("/v1/vms/xm/snapshots")).path("snapshots")).isEmpty();
            api.post("/v1/vms/xm/destroy");
        }
    }
}
