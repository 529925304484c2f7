package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** kill -9 of the daemon while VMs run: QEMU survives, and the restarted daemon adopts it. */
class DaemonRestartTest {
    DaemonProcess daemon;

    @BeforeEach
    void start() throws Exception {
        daemon = DaemonProcess.startNew();
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    @Test
    void restartedDaemonAdoptsRunningVmsAndReportsTheOneThatDiedAsCrashed() throws Exception {
        TestHttp api = daemon.http();
        for (String vm : new String[] {"keeper", "victim"}) {
            assertThat(api.post("/v1/vms", TestGuest.definition(vm)).status()).isEqualTo(201);
            assertThat(api.post("/v1/vms/" + vm + "/start?wait=true").status()).isEqualTo(200);
        }
        try (ConsoleReader c = new ConsoleReader(api, "keeper")) {
            c.await(TestGuest.READY, Duration.ofSeconds(60));
        }
        long keeperPid = api.get("/v1/vms/keeper").json().path("runtime").path("pid").asLong();
        long victimPid = api.get("/v1/vms/victim").json().path("runtime").path("pid").asLong();

        daemon.kill9();
        assertThat(io.jvirt.qemu.ProcessInfo.isRunning(keeperPid)).as("QEMU outlives the daemon").isTrue();
        ProcessHandle.of(victimPid).orElseThrow().destroyForcibly();
        DaemonProcess.awaitGone(victimPid, Duration.ofSeconds(10));

        daemon.restart();
        api = daemon.http();

        JsonNode keeper = api.get("/v1/vms/keeper").json();
        assertThat(keeper.path("state").asText()).isEqualTo("running");
        assertThat(keeper.path("runtime").path("pid").asLong()).isEqualTo(keeperPid);
        JsonNode victim = api.get("/v1/vms/victim").json();
        assertThat(victim.path("state").asText()).isEqualTo("crashed");
        assertThat(victim.path("reason").asText()).contains("while jvirtd was down");

        // Still controllable: the monitor (suspend/resume) and the console (a command round trip).
        assertThat(api.post("/v1/vms/keeper/suspend").json().path("state").asText()).isEqualTo("paused");
        assertThat(api.post("/v1/vms/keeper/resume").json().path("state").asText()).isEqualTo("running");
        try (ConsoleReader c = new ConsoleReader(api, "keeper")) {
            int from = c.length();
            assertThat(api.postBytes("/v1/vms/keeper/console", "echo after-$((40+2))\n".getBytes()).status()).isEqualTo(204);
            c.await("after-42", from, Duration.ofSeconds(20));
        }

        // A crashed VM can be started again.
        assertThat(api.post("/v1/vms/victim/start?wait=true").status()).isEqualTo(200);
        assertThat(api.get("/v1/vms/victim").json().path("state").asText()).isEqualTo("running");

        // An adopted QEMU that then dies under the running daemon is seen as crashed too (no child exit status).
        ProcessHandle.of(keeperPid).orElseThrow().destroyForcibly();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!api.get("/v1/vms/keeper").json().path("state").asText().equals("crashed")) {
            assertThat(System.nanoTime()).as("crash noticed").isLessThan(deadline);
            Thread.sleep(20);
        }
        assertThat(api.post("/v1/vms/victim/destroy").json().path("state").asText()).isEqualTo("shutoff");
    }
}
