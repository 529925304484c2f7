package io.jvirt.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Test helpers around the guest agent API: wait until it answers, run a shell line in the guest. */
public final class AgentCalls {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AgentCalls() {
    }

    /** The agent answers a few seconds after boot. */
    public static void awaitAgent(TestHttp api, String vm) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (api.post("/v1/vms/" + vm + "/guest/ping?agentTimeout=2").status() != 200) {
            assertThat(System.nanoTime()).as("agent of " + vm + " answers").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    public static JsonNode ok(TestHttp.Response r) {
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json();
    }

    /** Runs {@code sh -c script} in the guest through its agent and waits for it to exit. */
    public static JsonNode sh(TestHttp api, String vm, String script) {
        return ok(api.post("/v1/vms/" + vm + "/guest/exec?wait=true&timeout=60",
                JSON.valueToTree(Map.of("path", "/bin/sh", "args", List.of("-c", script)))));
    }
}
