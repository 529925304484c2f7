package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.EventCollector;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The per-VM job model: a job that waits (a shutdown of a paused guest, which only acts on it once resumed)
 * holds VM A; reads on A and any call on B go through at once; a second modifying call on A is refused with the
 * job named; QEMU dying under the job fails it at once and the VM is reported crashed with an event.
 */
class JobConcurrencyTest {
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
    void aWaitingJobOnOneVmDelaysNothingElseAndEndsWhenQemuDies() throws Exception {
        api.post("/v1/vms", TestGuest.definition("busy"));
        api.post("/v1/vms", TestGuest.definition("free"));
        assertThat(api.post("/v1/vms/busy/start?wait=true").status()).isEqualTo(200);
        assertThat(api.post("/v1/vms/busy/suspend").json().path("state").asText()).isEqualTo("paused");

        TestHttp.Response accepted = api.post("/v1/vms/busy/shutdown?timeout=600");
        assertThat(accepted.status()).isEqualTo(202);
        String operation = accepted.json().path("id").asText();
        assertThat(api.get("/v1/vms/busy").json().path("job").path("name").asText()).isEqualTo("shutdown");

        // Reads on the busy VM and the list answer at once.
        for (int i = 0; i < 20; i++) {
            assertThat(timed(() -> api.get("/v1/vms/busy")).toMillis()).isLessThan(500);
            assertThat(timed(() -> api.get("/v1/vms")).toMillis()).isLessThan(500);
        }
        // A modifying call on the busy VM is refused at once, naming the job.
        TestHttp.Response refused = api.post("/v1/vms/busy/resume");
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.errorCode()).isEqualTo("vm-busy");
        assertThat(refused.json().path("error").path("message").asText()).contains("shutdown");
        assertThat(refused.json().path("error").path("details").path("job").asText()).isEqualTo("shutdown");

        // Another VM starts while the job holds the first: no global lock.
        long t0 = System.nanoTime();
        TestHttp.Response freeStart = api.post("/v1/vms/free/start?wait=true");
        assertThat(freeStart.status()).as(freeStart.toString()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - t0).toSeconds()).isLessThan(30);
        assertThat(timed(() -> api.get("/v1/vms/free")).toMillis()).isLessThan(500);

        // QEMU killed under the job: crashed state and an event within a second, the job failed.
        try (EventCollector events = new EventCollector(api, "busy")) {
            long pid = api.get("/v1/vms/busy").json().path("runtime").path("pid").asLong();
            long killedAt = System.nanoTime();
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            events.awaitLifecycle("crashed", Duration.ofSeconds(1));
            assertThat(Duration.ofNanos(System.nanoTime() - killedAt).toMillis()).isLessThan(1000);
            JsonNode op = api.get("/v1/operations/" + operation + "/wait?timeout=1").json();
            assertThat(op.path("status").asText()).isEqualTo("failure");
            assertThat(op.path("error").path("code").asText()).isEqualTo("qemu-failed");
            JsonNode busy = api.get("/v1/vms/busy").json();
            assertThat(busy.path("state").asText()).isEqualTo("crashed");
            assertThat(busy.path("reason").asText()).contains("signal 9");
            assertThat(busy.path("job").isNull()).isTrue();
        }
        assertThat(api.post("/v1/vms/free/destroy").status()).isEqualTo(200);
    }

    @Test
    void queueWaitsForTheSlotInsteadOfFailing() throws Exception {
        api.post("/v1/vms", TestGuest.definition("queued"));
        TestHttp.Response start = api.post("/v1/vms/queued/start");
        assertThat(start.status()).isEqualTo(202);
        // Suspend right behind the start: without queue it may hit the running start job; with queue it waits.
        TestHttp.Response suspended = api.post("/v1/vms/queued/suspend?queue=60");
        assertThat(suspended.status()).as(suspended.toString()).isEqualTo(200);
        assertThat(suspended.json().path("state").asText()).isEqualTo("paused");
        assertThat(api.post("/v1/vms/queued/destroy").status()).isEqualTo(200);
    }

    private static Duration timed(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return Duration.ofNanos(System.nanoTime() - t0);
    }
}
