package io.jvirt.guest;

import static io.jvirt.testing.AgentCalls.awaitAgent;
import static io.jvirt.testing.AgentCalls.ok;
import static io.jvirt.testing.AgentCalls.sh;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * An agent that does not answer, or floods its channel with garbage, fails only the agent calls of its VM, within
 * their timeout; the VM's own API and every other VM answer at once, and the daemon's memory does not grow (it
 * runs with a 64 MiB heap while the guest writes far more than that into the channel).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentHangTest {
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew(List.of("-Xmx64m"));
        api = daemon.http();
        for (String vm : List.of("hung", "other")) {
            assertThat(api.post("/v1/vms", TestGuest.definition(vm)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/" + vm + "/start?wait=true"));
        }
        awaitAgent(api, "hung");
        awaitAgent(api, "other");
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    @Order(2)
    void aStoppedAgentFailsOnlyItsOwnCallsWithinTheirTimeout() throws Exception {
        // stopped from a background job, so the exec that starts it can still report its own exit
        sh(api, "hung", "(sleep 0.3; kill -STOP $(cat /run/qemu-ga.pid)) >/dev/null 2>&1 &");
        Thread.sleep(800);
        long t0 = System.nanoTime();
        CompletableFuture<TestHttp.Response> ping = CompletableFuture.supplyAsync(() -> api.post("/v1/vms/hung/guest/ping?agentTimeout=3"));
        Thread.sleep(300); // the ping is waiting for the agent now
        // everything else answers at once, also on the hung VM
        assertQuick(() -> api.get("/v1/vms/hung"));
        assertQuick(() -> api.post("/v1/vms/hung/suspend"));
        assertQuick(() -> api.post("/v1/vms/hung/resume"));
        assertQuick(() -> api.get("/v1/vms/hung/stats"));
        assertQuick(() -> api.post("/v1/vms/other/guest/ping"));
        assertQuick(() -> api.get("/v1/vms/other/guest/osinfo"));
        TestHttp.Response r = ping.get();
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("timeout");
        assertThat(r.json().path("error").path("message").asText()).contains("did not answer ping within 3 s");
        assertThat(seconds).isBetween(2.9, 6.0);
        // info says it does not answer, and why, without failing
        JsonNode info = ok(api.get("/v1/vms/hung/guest?agentTimeout=1"));
        assertThat(info.path("answers").asBoolean()).isFalse();
        assertThat(info.path("error").asText()).contains("did not answer");
        // the agent comes back: the next call resyncs past the stale answers and works
        GuestConsole.type(api, "hung", "kill -CONT $(cat /run/qemu-ga.pid)");
        awaitAgent(api, "hung");
        assertThat(ok(api.get("/v1/vms/hung/guest/hostname")).path("hostname").asText()).isEqualTo("jvirt-guest");

        // stopped again, with a call waiting on it: destroy does not wait for the agent either
        GuestConsole.type(api, "hung", "kill -STOP $(cat /run/qemu-ga.pid)");
        Thread.sleep(500);
        CompletableFuture<TestHttp.Response> waiting = CompletableFuture.supplyAsync(() -> api.post("/v1/vms/hung/guest/ping?agentTimeout=5"));
        Thread.sleep(300);
        assertQuick(() -> api.post("/v1/vms/hung/destroy"));
        long t1 = System.nanoTime();
        assertThat(waiting.get().status()).isGreaterThanOrEqualTo(400);
        assertThat((System.nanoTime() - t1) / 1e9).as("the waiting call ends with the VM").isLessThan(6.0);
        assertThat(api.get("/v1/vms/hung").json().path("state").asText()).isEqualTo("shutoff");
    }

    @Test
    @Order(1)
    void garbageInTheChannelNeitherConfusesTheNextReplyNorGrowsTheHeap() throws Exception {
        long heapBefore = liveHeap();
        try (ConsoleReader console = new ConsoleReader(api, "hung")) {
            // the agent is gone; the guest writes 48 MiB of garbage into its port: a 24 MiB line without an end,
            // then random bytes (0xFF and newlines among them)
            GuestConsole.type(api, "hung", "kill $(cat /run/qemu-ga.pid); sleep 0.5; P=/dev/virtio-ports/org.qemu.guest_agent.0;"
                    + " (head -c 25165824 /dev/zero | tr '\\0' 'a'; head -c 25165824 /dev/urandom) > $P & echo FLOOD=$((20+3))");
            console.await("FLOOD=23", GuestConsole.TIMEOUT);
            // a call now reads garbage until its deadline, keeping at most one line's limit in memory
            TestHttp.Response r = api.post("/v1/vms/hung/guest/ping?agentTimeout=4");
            assertThat(r.status()).as(r.toString()).isIn(502, 504);
            assertQuick(() -> api.get("/v1/vms/hung/stats"));
            // garbage stops, the agent is started again: the next call is answered correctly
            GuestConsole.type(api, "hung", "kill %1 2>/dev/null; qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0"
                    + " -t /run -f /run/qemu-ga.pid -d -l /run/qemu-ga.log; echo AGENT=$((40+2))");
            console.await("AGENT=42", GuestConsole.TIMEOUT);
        }
        awaitAgent(api, "hung");
        assertThat(ok(api.get("/v1/vms/hung/guest/osinfo")).path("id").asText()).isEqualTo("jvirt-tiny");
        assertThat(ok(api.get("/v1/vms/hung/guest/hostname")).path("hostname").asText()).isEqualTo("jvirt-guest");
        long heapAfter = liveHeap();
        assertThat(heapAfter).as("live heap after the flood (before: " + heapBefore + ")").isLessThan(heapBefore + (16L << 20));
        assertThat(ok(api.get("/v1/host")).path("server").path("heapMaxBytes").asLong()).isLessThanOrEqualTo(64L << 20);
    }

    /** The daemon's heap in use right after a collection (the daemon runs SerialGC, -Xmx64m). */
    private static long liveHeap() throws InterruptedException {
        long live = -1;
        for (int i = 0; i < 20 && live < 0; i++) {
            live = ok(api.get("/v1/host")).path("server").path("heapLiveAfterGcBytes").asLong();
            Thread.sleep(100);
        }
        return live < 0 ? 0 : live;
    }

    private static void assertQuick(java.util.function.Supplier<TestHttp.Response> call) {
        long t0 = System.nanoTime();
        TestHttp.Response r = call.get();
        double ms = (System.nanoTime() - t0) / 1e6;
        assertThat(r.status()).as(r.toString()).isLessThan(300);
        assertThat(ms).as("answered in ms").isLessThan(1500);
    }
}
