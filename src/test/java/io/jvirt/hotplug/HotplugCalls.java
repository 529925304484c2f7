package io.jvirt.hotplug;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.TestHttp;

/** A hotplug change as the tests make it: {@code POST /v1/vms/{vm}{path}?wait=true}, accepted or refused. */
public final class HotplugCalls {
    private HotplugCalls() {
    }

    /** A change that must succeed (200); its operation's result. */
    public static JsonNode change(TestHttp api, String vm, String path, Object body) {
        TestHttp.Response r = api.post("/v1/vms/" + vm + path + "?wait=true", body);
        assertThat(r.status()).as(path + ": " + r).isEqualTo(200);
        return r.json().path("result");
    }

    /** A change that must be refused (4xx/5xx); the answer, for its error code and message. */
    public static TestHttp.Response refused(TestHttp api, String vm, String path, Object body) {
        TestHttp.Response r = api.post("/v1/vms/" + vm + path + "?wait=true", body);
        assertThat(r.status()).as(path + ": " + r).isGreaterThanOrEqualTo(400);
        return r;
    }
}
