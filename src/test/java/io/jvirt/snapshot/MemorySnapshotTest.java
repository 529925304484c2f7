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
                        Map.of("name", "m2", "memory", true, "external", true))).errorCode()).isEqualTo("invalid-argument");
                ok(api.delete("/v1/vms/mem/snapshots/m1?wait=true"));
                assertThat(ok(api.get("/v1/vms/mem/snapshots")).path("snapshots")).isEmpty();
            }
            api.post("/v1/vms/mem/destroy");
        }
    }
}
