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
import java.util.Map;
import org.junit.jupiter.api.Test;

/** --quiesce freezes through the guest agent and always thaws, also when the snapshot fails after the freeze. */
class QuiesceTest {
    @Test
    void freezeAndThawAroundSnapshotsEvenOnFailure() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path disk = TestGuest.newDisk(dir.resolve("q.qcow2"), "qcow2", "16M");
            daemon.kill9();
            daemon.env.put("JVIRT_FAULT", "snapshot:fail-after-freeze");
            daemon.restart();
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", SnapshotGuest.definition("q1", disk)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/q1/start?wait=true"));
            try (ConsoleReader console = SnapshotGuest.console(api, "q1")) {
                TestHttp.Response failed = api.post("/v1/vms/q1/snapshots?wait=true",
                        new ObjectMapper().valueToTree(Map.of("name", "q", "quiesce", true)));
                assertThat(failed.status()).as(failed.toString()).isEqualTo(500);
                JsonNode q = failed.json().path("error").path("details").path("quiesce");
                assertThat(q.path("frozen").asInt(-1)).as(failed.toString()).isGreaterThanOrEqualTo(0);
                assertThat(q.path("thawed").asInt(-1)).as(failed.toString()).isGreaterThanOrEqualTo(0);
                assertThat(ok(api.get("/v1/vms/q1/snapshots?live=true")).path("live").path("vda").path("snapshots")).isEmpty();
                assertThat(Files.readString(daemon.log())).contains("guest filesystems frozen").contains("guest filesystems thawed");
                // the guest still writes (it is not left frozen)
                SnapshotGuest.write(api, console, "q1", "vda", "alive");
            }
            api.post("/v1/vms/q1/destroy");
        }
    }
}
