package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.EventCollector;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The whole lifecycle of a real tiny guest through the HTTP API, with the event stream watched throughout. */
class LifecycleApiTest {
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

    @Test
    void defineStartPauseResumeShutdownDestroyUndefine() throws Exception {
        try (EventCollector events = new EventCollector(api, "life")) {
            TestHttp.Response defined = api.post("/v1/vms", TestGuest.definition("life"));
            assertThat(defined.status()).as(defined.toString()).isEqualTo(201);
            assertThat(defined.json().path("state").asText()).isEqualTo("shutoff");
            assertThat(defined.json().path("uuid").asText()).hasSize(36);

            TestHttp.Response started = api.post("/v1/vms/life/start?wait=true");
            assertThat(started.status()).as(started.toString()).isEqualTo(200);
            assertThat(started.json().path("status").asText()).isEqualTo("success");

            JsonNode info = api.get("/v1/vms/life").json();
            assertThat(info.path("state").asText()).isEqualTo("running");
            long pid = info.path("runtime").path("pid").asLong();
            assertThat(io.jvirt.qemu.ProcessInfo.isRunning(pid)).isTrue();
            assertThat(info.path("runtime").path("accel").asText()).isEqualTo(TestGuest.accel());

            try (ConsoleReader console = new ConsoleReader(api, "life")) {
                int at = console.await(TestGuest.READY, Duration.ofSeconds(60));
                // The console is interactive: the guest's shell runs what we type.
                assertThat(api.postBytes("/v1/vms/life/console", "echo answer-$((6*7))\n".getBytes()).status()).isEqualTo(204);
                console.await("answer-42", at, Duration.ofSeconds(20));
            }

            JsonNode paused = api.post("/v1/vms/life/suspend").json();
            assertThat(paused.path("state").asText()).isEqualTo("paused");
            assertThat(paused.path("reason").asText()).isEqualTo("user");
            JsonNode resumed = api.post("/v1/vms/life/resume").json();
            assertThat(resumed.path("state").asText()).isEqualTo("running");

            TestHttp.Response shutdown = api.post("/v1/vms/life/shutdown?timeout=60&wait=true");
            assertThat(shutdown.status()).as(shutdown.toString()).isEqualTo(200);
            JsonNode off = api.get("/v1/vms/life").json();
            assertThat(off.path("state").asText()).isEqualTo("shutoff");
            assertThat(off.path("reason").asText()).isEqualTo("guest-shutdown");
            assertThat(off.path("runtime").isNull()).isTrue();
            DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));

            // The console log of the last run stays readable after the VM stopped.
            assertThat(api.get("/v1/vms/life/console").text()).contains(TestGuest.READY);

            assertThat(api.post("/v1/vms/life/start?wait=true").status()).isEqualTo(200);
            long pid2 = api.get("/v1/vms/life").json().path("runtime").path("pid").asLong();
            JsonNode destroyed = api.post("/v1/vms/life/destroy").json();
            assertThat(destroyed.path("state").asText()).isEqualTo("shutoff");
            assertThat(destroyed.path("reason").asText()).isEqualTo("destroyed");
            assertThat(io.jvirt.qemu.ProcessInfo.isRunning(pid2)).isFalse();

            assertThat(api.delete("/v1/vms/life").status()).isEqualTo(200);
            assertThat(api.get("/v1/vms/life").errorCode()).isEqualTo("vm-not-found");

            List<String> states = events.awaitLifecycle("undefined", Duration.ofSeconds(10));
            assertThat(states).containsSubsequence("defined", "starting", "running", "paused", "running",
                    "shutting-down", "shutoff", "starting", "running", "shutoff", "undefined");
            assertThat(events.operations()).anySatisfy(op -> {
                assertThat(op.path("kind").asText()).isEqualTo("start");
                assertThat(op.path("status").asText()).isEqualTo("success");
            });
        }
    }

    @Test
    void aStartThatQemuRefusesReturnsQemusOwnErrorAndLeavesNoProcess() throws Exception {
        // A file that claims to be qcow2 but is not: jvirt reads every image's header before QEMU does (explicit
        // backing chains), so it is refused at define, naming the file.
        java.nio.file.Path fake = daemon.root().resolve("not-really.qcow2");
        java.nio.file.Files.write(fake, new byte[4096]);
        com.fasterxml.jackson.databind.node.ObjectNode bad = TestGuest.definition("refused");
        bad.putArray("disks").addObject().put("name", "vda").put("path", fake.toString()).put("format", "qcow2");
        TestHttp.Response refused = api.post("/v1/vms", bad);
        assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
        assertThat(refused.text()).contains("not-really.qcow2");
        // A machine type QEMU does not have: QEMU itself refuses it at start.
        com.fasterxml.jackson.databind.node.ObjectNode d = TestGuest.definition("refused");
        d.put("machine", "no-such-machine");
        assertThat(api.post("/v1/vms", d).status()).isEqualTo(201);

        TestHttp.Response r = api.post("/v1/vms/refused/start?wait=true");
        assertThat(r.status()).as(r.toString()).isEqualTo(500);
        JsonNode error = r.json().path("error");
        assertThat(error.path("code").asText()).isEqualTo("qemu-failed");
        assertThat(error.path("message").asText()).as("QEMU's stderr is in the error").contains("unsupported machine type");
        JsonNode info = api.get("/v1/vms/refused").json();
        assertThat(info.path("state").asText()).isEqualTo("shutoff");
        assertThat(info.path("reason").asText()).isEqualTo("start-failed");
        assertThat(info.path("runtime").isNull()).isTrue();
        assertThat(daemon.qemuPids()).isEmpty();
        // The per-VM QEMU log recorded the command line and why it ended.
        String qemuLog = java.nio.file.Files.readString(daemon.stateDir().resolve("owners/refused/qemu.log"));
        assertThat(qemuLog).contains("qemu-system-x86_64").contains("no-such-machine");
        assertThat(api.delete("/v1/vms/refused").status()).isEqualTo(200);
    }

    @Test
    void hostFactsNameTheAccelerator() {
        JsonNode host = api.get("/v1/host").json();
        assertThat(host.path("accel").asText()).isIn("kvm", "tcg");
        assertThat(host.path("qemuVersion").asText()).matches("\\d+\\.\\d+\\.\\d+");
    }
}
