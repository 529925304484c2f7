package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every bad input gets a clear error with a stable code, and leaves the store and the VM list exactly as they were. */
class BadInputTest {
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        assertThat(api.post("/v1/vms", TestGuest.definition("existing")).status()).isEqualTo(201);
    }

    @AfterAll
    static void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
    }

    /** Sends a bad request and checks its status, code and message, and that nothing on disk or in the list moved. */
    private static JsonNode refused(TestHttp.Response[] holder, java.util.function.Supplier<TestHttp.Response> call,
                                    int status, String code, String messagePart) throws IOException {
        Map<String, String> before = snapshot();
        String listBefore = api.get("/v1/vms").text();
        TestHttp.Response r = call.get();
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.errorCode()).as(r.toString()).isEqualTo(code);
        assertThat(r.json().path("error").path("message").asText()).containsIgnoringCase(messagePart);
        assertThat(snapshot()).as("the store is unchanged").isEqualTo(before);
        assertThat(api.get("/v1/vms").text()).as("the VM list is unchanged").isEqualTo(listBefore);
        return r.json();
    }

    private static JsonNode refused(java.util.function.Supplier<TestHttp.Response> call, int status, String code,
                                    String messagePart) throws IOException {
        return refused(null, call, status, code, messagePart);
    }

    /** Every file under the daemon's state directory with its content (logs excluded: they record, they don't define). */
    private static Map<String, String> snapshot() throws IOException {
        Map<String, String> files = new TreeMap<>();
        Path root = daemon.stateDir();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String rel = root.relativize(p).toString();
                if (!rel.endsWith(".log")) {
                    files.put(rel, Files.readString(p));
                }
            }
        }
        return files;
    }

    @Test
    void unknownVm() throws IOException {
        refused(() -> api.get("/v1/vms/nosuch"), 404, "vm-not-found", "no VM named 'nosuch'");
        refused(() -> api.post("/v1/vms/nosuch/start"), 404, "vm-not-found", "nosuch");
        refused(() -> api.delete("/v1/vms/nosuch"), 404, "vm-not-found", "nosuch");
    }

    @Test
    void duplicateName() throws IOException {
        refused(() -> api.post("/v1/vms", TestGuest.definition("existing")), 409, "vm-exists", "already defined");
    }

    @Test
    void malformedJson() throws IOException {
        refused(() -> api.post("/v1/vms", "{\"name\": \"x\", "), 400, "invalid-definition", "malformed JSON");
        refused(() -> api.post("/v1/vms", "[1,2]"), 400, "invalid-definition", "JSON object");
        refused(() -> api.post("/v1/vms", "{\"name\":\"a\",\"name\":\"b\"}"), 400, "invalid-definition", "duplicate");
    }

    @Test
    void unknownFieldsAreNamed() throws IOException {
        ObjectNode d = TestGuest.definition("typo");
        d.put("memroyMiB", 256);
        JsonNode err = refused(() -> api.post("/v1/vms", d), 400, "invalid-definition", "unknown field 'memroyMiB'");
        assertThat(err.path("error").path("details").path("field").asText()).isEqualTo("memroyMiB");
        ObjectNode nested = TestGuest.definition("typo");
        nested.putArray("disks").addObject().put("path", "/tmp/x").put("fromat", "raw");
        refused(() -> api.post("/v1/vms", nested), 400, "invalid-definition", "unknown field 'fromat'");
    }

    @Test
    void wrongTypesAndValues() throws IOException {
        ObjectNode d = TestGuest.definition("types");
        d.put("memoryMiB", "lots");
        refused(() -> api.post("/v1/vms", d), 400, "invalid-definition", "memoryMiB");
        ObjectNode small = TestGuest.definition("types");
        small.put("memoryMiB", 1);
        refused(() -> api.post("/v1/vms", small), 400, "invalid-definition", "memoryMiB must be between");
        ObjectNode emu = TestGuest.definition("types");
        emu.put("emulator", "/bin/sh");
        refused(() -> api.post("/v1/vms", emu), 400, "invalid-definition", "qemu-system");
    }

    @Test
    void missingDiskFile() throws IOException {
        ObjectNode d = TestGuest.definition("nodisk");
        d.putArray("disks").addObject().put("path", daemon.root().resolve("absent.qcow2").toString()).put("format", "qcow2");
        refused(() -> api.post("/v1/vms", d), 400, "disk-not-found", "no such file");
        ObjectNode rel = TestGuest.definition("reldisk");
        rel.putArray("disks").addObject().put("path", "disk.qcow2");
        refused(() -> api.post("/v1/vms", rel), 400, "invalid-definition", "absolute");
        ObjectNode dots = TestGuest.definition("dotdisk");
        dots.putArray("disks").addObject().put("path", daemon.root() + "/../etc/passwd");
        refused(() -> api.post("/v1/vms", dots), 400, "invalid-definition", "normalized");
    }

    @Test
    void namesThatCouldEscapeADirectory() throws IOException {
        for (String bad : new String[] {"a/b", "..", "../etc", "x..y", "bad\nname", "tab\tname", "", " lead", "-dash"}) {
            ObjectNode d = TestGuest.definition("placeholder");
            d.put("name", bad);
            refused(() -> api.post("/v1/vms", d), 400, bad.isEmpty() ? "invalid-name" : "invalid-name",
                    bad.isEmpty() ? "required" : "invalid VM name");
        }
        // A control character in the path is refused by the HTTP layer itself, before any route runs: still JSON.
        refused(() -> api.get("/v1/vms/bad%0Aname"), 400, "bad-request", "suspicious path character");
        refused(() -> api.post("/v1/vms/x..y/start"), 400, "invalid-name", "invalid VM name");
    }

    @Test
    void wrongStateActions() throws IOException {
        refused(() -> api.post("/v1/vms/existing/destroy"), 409, "invalid-state", "not running");
        refused(() -> api.post("/v1/vms/existing/suspend"), 409, "invalid-state", "shutoff");
        refused(() -> api.post("/v1/vms/existing/shutdown"), 409, "invalid-state", "shutoff");
        api.post("/v1/vms", TestGuest.definition("twice"));
        assertThat(api.post("/v1/vms/twice/start?wait=true").status()).isEqualTo(200);
        try {
            refused(() -> api.post("/v1/vms/twice/start"), 409, "invalid-state", "already running");
            refused(() -> api.delete("/v1/vms/twice"), 409, "invalid-state", "running");
            refused(() -> api.post("/v1/vms/twice/resume"), 409, "invalid-state", "not paused");
        } finally {
            api.post("/v1/vms/twice/destroy");
        }
    }

    @Test
    void badQueryAndUnknownEndpoints() throws IOException {
        refused(() -> api.post("/v1/vms/existing/shutdown?timeout=soon"), 400, "invalid-argument", "timeout");
        refused(() -> api.get("/v1/nothing"), 404, "not-found", "no endpoint");
        refused(() -> api.send("PUT", "/v1/vms", null, null), 405, "method-not-allowed", "PUT");
        refused(() -> api.get("/v1/operations/nope"), 404, "operation-not-found", "nope");
    }
}
