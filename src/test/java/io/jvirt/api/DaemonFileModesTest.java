package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.testing.Command;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The modes of what the daemon creates, read with {@code stat}: state directory 0700, documents 0600, console and
 * QEMU logs 0600 (after the run, when no ACL entry is held), staged uploads 0600, volumes 0600, bundles 0640 in a
 * 0750 directory; the read-write socket 0660 and the read-only one 0666 (ReadOnlySocketTest checks those).
 */
class DaemonFileModesTest {
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    static String mode(Path p) {
        return Command.ok("stat", "-c", "%a", p.toString()).strip();
    }

    @Test
    void everyFileTheDaemonMakesHasItsMode() throws Exception {
        TestHttp.Response vol = api.post("/v1/pools/default/volumes", Map.of("name", "m.qcow2", "size", "16M"));
        assertThat(vol.status()).as(vol.toString()).isEqualTo(201);
        Path volume = daemon.stateDir().resolve("pools/default/m.qcow2");
        assertThat(mode(volume)).isEqualTo("600");

        var d = TestGuest.definition("modes");
        d.putArray("disks").addObject().put("name", "vda").put("path", volume.toString()).put("format", "qcow2");
        assertThat(api.post("/v1/vms", d).status()).isEqualTo(201);
        assertThat(api.post("/v1/vms/modes/start?wait=true").status()).isEqualTo(200);
        long pid = api.get("/v1/vms/modes").json().path("runtime").path("pid").asLong();
        assertThat(api.post("/v1/vms/modes/destroy").status()).isEqualTo(200);
        DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));

        Path owner = daemon.stateDir().resolve("owners/modes");
        assertThat(mode(daemon.stateDir())).isEqualTo("700");
        assertThat(mode(owner.resolve("definition.json"))).isEqualTo("600");
        assertThat(mode(owner.resolve("state.json"))).isEqualTo("600");
        assertThat(mode(owner.resolve("console.log"))).isEqualTo("600");
        assertThat(mode(owner.resolve("qemu.log"))).isEqualTo("600");
        assertThat(mode(volume)).isEqualTo("600");
        assertThat(mode(daemon.runDir().resolve("vms/modes"))).isEqualTo("700");
        // nothing the daemon wrote in its state directory is readable by others
        try (Stream<Path> all = Files.walk(daemon.stateDir())) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                assertThat(Integer.parseInt(mode(p), 8) & 0007).as(p + " " + mode(p)).isZero();
            }
        }

        TestHttp.Response upload = api.postBytes("/v1/images/uploads", "a file to build with".getBytes());
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
        try (Stream<Path> staged = Files.walk(daemon.stateDir())) {
            Path file = staged.filter(p -> p.getFileName().toString().endsWith(".upload")).findFirst().orElseThrow();
            assertThat(mode(file)).isEqualTo("600");
        }

        TestHttp.Response exported = api.post("/v1/vms/modes/export?wait=true", Map.of());
        assertThat(exported.status()).as(exported.toString()).isEqualTo(200);
        Path bundle = Path.of(exported.json().path("result").path("bundle").asText());
        assertThat(mode(bundle)).isEqualTo("640");
        assertThat(mode(bundle.getParent())).isEqualTo("750");
    }
}
