package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.files.FileModes;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.EventCollector;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The read-only socket {@code jvirtd-ro.sock}: every GET works and the event stream flows, every change is 403
 * forbidden and changes nothing; the read-write socket is 0660 and the read-only one 0666 from the start.
 */
class ReadOnlySocketTest {
    /** A group every test host has (the /dev/kvm group where there is one). */
    static final String GROUP = io.jvirt.testing.Command.run(java.util.List.of("getent", "group", "kvm")).exit() == 0
            ? "kvm" : "nogroup";
    static DaemonProcess daemon;
    static TestHttp rw;
    static TestHttp ro;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew("--socket-group", GROUP);
        // reachable like /run/jvirt: the sockets' own modes decide who gets in
        io.jvirt.files.FileModes.setMode(daemon.root(), 0755);
        rw = daemon.http();
        ro = new TestHttp(daemon.roSocket());
        assertThat(rw.post("/v1/vms", TestGuest.definition("watched")).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void socketModes() throws Exception {
        assertThat(FileModes.octal(FileModes.modeOf(daemon.socket()))).isEqualTo("0660");
        assertThat(FileModes.octal(FileModes.modeOf(daemon.roSocket()))).isEqualTo("0666");
        assertThat(Files.readAttributes(daemon.roSocket(), java.nio.file.attribute.BasicFileAttributes.class).isOther()).isTrue();
        assertThat(io.jvirt.testing.Command.ok("stat", "-c", "%G", daemon.socket().toString()).strip()).isEqualTo(GROUP);
        // a real unprivileged user (a uid outside the socket group): the read-only socket answers, the other refuses
        List<String> asUser = List.of("setpriv", "--reuid=70250", "--regid=70250", "--clear-groups", "--", "curl", "-s",
                "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket");
        var ro = io.jvirt.testing.Command.run(concat(asUser, daemon.roSocket().toString(), "http://jvirt/v1/vms"));
        assertThat(ro.output()).isEqualTo("200");
        var rw = io.jvirt.testing.Command.run(concat(asUser, daemon.socket().toString(), "http://jvirt/v1/vms"));
        assertThat(rw.exit()).isNotZero(); // connect(2): permission denied
        assertThat(rw.output()).isNotEqualTo("200");
        // no staging directory left behind
        try (var dirs = Files.list(daemon.runDir())) {
            assertThat(dirs.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".s")).toList()).isEmpty();
        }
    }

    static List<String> concat(List<String> a, String... b) {
        List<String> out = new java.util.ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

    @Test
    void everyGetWorksEveryChangeIsForbiddenAndEventsFlow() throws Exception {
        try (EventCollector events = new EventCollector(ro, "watched")) {
            assertThat(rw.post("/v1/vms/watched/start?wait=true").status()).isEqualTo(200);
            events.awaitLifecycle("running", Duration.ofSeconds(60));

            for (String path : List.of("/v1/host", "/v1/vms", "/v1/vms/watched", "/v1/vms/watched/snapshots",
                    "/v1/vms/watched/blockjobs", "/v1/vms/watched/stats", "/v1/stats", "/metrics", "/v1/operations",
                    "/v1/pools", "/v1/pools/default", "/v1/pools/default/volumes", "/v1/networks", "/v1/images/sources",
                    "/v1/images")) {
                TestHttp.Response r = ro.get(path);
                assertThat(r.status()).as("GET " + path + " " + r).isEqualTo(200);
            }
            // console output holds what users type: not for the world-accessible socket
            TestHttp.Response console = ro.get("/v1/vms/watched/console");
            assertThat(console.status()).isEqualTo(403);
            assertThat(console.errorCode()).isEqualTo("forbidden");

            record Change(String method, String path, byte[] body, String type) {
            }
            byte[] json = "{}".getBytes();
            for (Change c : List.of(new Change("POST", "/v1/vms/watched/destroy", null, null),
                    new Change("POST", "/v1/vms/watched/suspend", null, null),
                    new Change("POST", "/v1/vms", json, "application/json"),
                    new Change("DELETE", "/v1/vms/watched", null, null),
                    new Change("POST", "/v1/vms/watched/console", "reboot\n".getBytes(), "application/octet-stream"),
                    new Change("POST", "/v1/vms/watched/snapshots", json, "application/json"),
                    new Change("POST", "/v1/pools", json, "application/json"),
                    new Change("DELETE", "/v1/pools/default", null, null),
                    new Change("POST", "/v1/images/uploads", new byte[16], "application/octet-stream"),
                    new Change("PUT", "/v1/vms/watched", json, "application/json"))) {
                TestHttp.Response r = ro.send(c.method(), c.path(), c.body(), c.type());
                assertThat(r.status()).as(c + " " + r).isEqualTo(403);
                assertThat(r.errorCode()).isEqualTo("forbidden");
                assertThat(r.json().path("error").path("message").asText()).contains("read-only socket");
            }
            assertThat(rw.get("/v1/vms/watched").json().path("state").asText()).isEqualTo("running");
            assertThat(rw.get("/v1/vms").json().size()).isEqualTo(1);

            assertThat(rw.post("/v1/vms/watched/destroy").status()).isEqualTo(200);
            events.awaitLifecycle("shutoff", Duration.ofSeconds(30));
        }
    }
}
