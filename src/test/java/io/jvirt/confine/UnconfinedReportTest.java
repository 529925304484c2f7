package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A daemon that does not confine QEMU (here --no-confine; on a host without setpriv or ACLs the probe says why)
 * says so in the log and in GET /v1/host: "runs as root: high privileges"; its QEMU runs as root, nothing labelled.
 */
class UnconfinedReportTest {
    @Test
    void highPrivilegesAreReportedNotHidden() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew("--no-confine")) {
            TestHttp api = daemon.http();
            JsonNode c = api.get("/v1/host").json().path("confinement");
            assertThat(c.path("mode").asText()).isEqualTo("root");
            assertThat(c.path("highPrivileges").asBoolean()).isTrue();
            assertThat(c.path("summary").asText()).startsWith("runs as root: high privileges");
            assertThat(Files.readString(daemon.log())).contains("WARN").contains("QEMU runs as root: high privileges");

            assertThat(api.post("/v1/vms", TestGuest.definition("plain")).status()).isEqualTo(201);
            assertThat(api.post("/v1/vms/plain/start?wait=true").status()).isEqualTo(200);
            long pid = api.get("/v1/vms/plain").json().path("runtime").path("pid").asLong();
            String uid = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
            assertThat(uid.split("\\s+")[1]).isEqualTo("0");
            assertThat(daemon.stateDir().resolve("labels/ledger.json")).doesNotExist();
            assertThat(api.post("/v1/vms/plain/destroy").status()).isEqualTo(200);
        }
    }
}
