package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API on a real daemon, through {@code jvirt admin}: its socket (0600), log levels and outputs changed at
 * run time, clients with their Unix identity, disconnecting one, the connection limit refusing a third client
 * (and the per-identity and queued-jobs limits)
 * while the admin socket still answers, limits and allowed directories, and what {@code --persist} keeps over a
 * restart.
 */
class AdminApiTest {
    static DaemonProcess daemon;
    static TestHttp api;
    static TestHttp admin;
    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        admin = new TestHttp(daemon.runDir().resolve("jvirtd-admin.sock"));
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    record Cli(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return Json.mapper().readTree(out);
        }
    }

    static Cli jvirt(String... args) {
        List<String> all = new ArrayList<>(List.of("--socket", daemon.socket().toString()));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = io.jvirt.cli.JvirtCli.run(all.toArray(new String[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Cli ok(String... args) {
        Cli c = jvirt(args);
        assertThat(c.exit()).as("jvirt %s: %s", String.join(" ", args), c.err()).isZero();
        return c;
    }

    private static void awaitLog(Path log, String text, boolean expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(expected ? 5 : 1).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                assertThat(expected).as("%s logged", text).isTrue();
                return;
            }
            Thread.sleep(20);
        }
        assertThat(expected).as("%s not logged", text).isFalse();
    }

    @Test
    void theAdminSocketIsRootsOnly() throws Exception {
        assertThat(io.jvirt.files.FileModes.modeOf(daemon.runDir().resolve("jvirtd-admin.sock"))).isEqualTo(0600);
        Cli info = ok("-o", "json", "admin", "daemon-info");
        JsonNode d = info.json();
        assertThat(d.path("version").asText()).isEqualTo(JvirtDaemon.VERSION);
        assertThat(d.path("listeners").toString()).contains("jvirtd.sock").contains("jvirtd-admin.sock");
        assertThat(d.path("threads").asInt()).isPositive();
        assertThat(d.path("heap").path("usedBytes").asLong()).isPositive();
        assertThat(ok("admin", "daemon-info").out()).contains("Uptime").contains("Open streams");
        // the admin routes are not on the API socket
        assertThat(api.get("/v1/admin/daemon").status()).isEqualTo(404);
    }

    @Test
    void aLogLevelAndOutputChangedAtRunTimeTakeEffect() throws Exception {
        Path extra = tmp.resolve("extra.log");
        assertThat(api.get("/v1/vms/before-debug").status()).isEqualTo(404);
        ok("admin", "log-level", "io.jvirt.api.Router", "debug");
        ok("admin", "log-outputs", "stderr", "file:" + extra);
        assertThat(api.get("/v1/vms/while-debug").status()).isEqualTo(404);
        awaitLog(daemon.log(), "GET /v1/vms/while-debug", true);
        awaitLog(extra, "GET /v1/vms/while-debug", true);
        assertThat(Files.readString(daemon.log())).doesNotContain("before-debug");
        assertThat(ok("admin", "log-level").out()).contains("io.jvirt.api.Router").contains("DEBUG");

        ok("admin", "log-level", "io.jvirt.api.Router", "inherit");
        ok("admin", "log-outputs", "stderr");
        assertThat(api.get("/v1/vms/after-debug").status()).isEqualTo(404);
        awaitLog(daemon.log(), "after-debug", false);
        // bad values are refused, nothing changed
        Cli bad = jvirt("admin", "log-level", "LOUD");
        assertThat(bad.exit()).isEqualTo(7);
        assertThat(bad.err()).contains("level must be one of");
        assertThat(jvirt("admin", "log-outputs", "file:relative.log").exit()).isEqualTo(7);
        assertThat(ok("-o", "json", "admin", "log-outputs").json().path("outputs").toString()).isEqualTo("[\"stderr\"]");
    }

    @Test
    void clientsAreListedWithTheirIdentityAndCanBeDisconnected() throws Exception {
        try (TestHttp.Stream events = api.open("GET", "/v1/events", null, null)) {
            assertThat(events.status).isEqualTo(200);
            JsonNode mine = null;
            for (JsonNode c : ok("-o", "json", "admin", "clients").json().path("clients")) {
                if (c.path("streams").asInt() == 1) {
                    mine = c;
                }
            }
            assertThat(mine).as("the event stream's client").isNotNull();
            assertThat(mine.path("transport").asText()).isEqualTo("unix");
            assertThat(mine.path("role").asText()).isEqualTo("read-write");
            String id = mine.path("id").asText();
            JsonNode info = ok("-o", "json", "admin", "client-info", id).json();
            assertThat(info.path("uid").asInt()).isEqualTo(0);
            assertThat(info.path("user").asText()).isEqualTo("root");
            assertThat(info.path("gid").asInt()).isEqualTo(0);
            assertThat(info.path("pid").asLong()).as("the test's own JVM").isEqualTo(ProcessHandle.current().pid());
            assertThat(ok("admin", "clients").out()).contains("uid=0(root)");

            ok("admin", "client-disconnect", id);
            long t0 = System.nanoTime();
            byte[] rest = events.body.readAllBytes(); // ends: the daemon closed the connection
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(rest.length).isLessThan(100_000);
        }
        Cli gone = jvirt("admin", "client-info", "999999");
        assertThat(gone.exit()).isEqualTo(1);
        assertThat(gone.err()).contains("no client 999999");
    }

    @Test
    void withMaxClientsTwoTheThirdIsRefusedWhileTheAdminSocketAnswers() throws Exception {
        List<TestHttp.Stream> held = new ArrayList<>();
        try {
            ok("admin", "limits-set", "--max-clients", "2");
            held.add(api.open("GET", "/v1/events", null, null));
            held.add(api.open("GET", "/v1/events", null, null));
            TestHttp.Response third = api.get("/v1/vms");
            assertThat(third.status()).isEqualTo(503);
            assertThat(third.errorCode()).isEqualTo("limit-reached");
            assertThat(third.json().path("error").path("details").path("limit").asText()).isEqualTo("max-connections");
            // the admin socket is exempt
            JsonNode limits = ok("-o", "json", "admin", "limits").json();
            assertThat(limits.path("limits").path("max-connections").asInt()).isEqualTo(2);
            assertThat(limits.path("current").path("connections").asInt()).isGreaterThanOrEqualTo(2);
            assertThat(ok("-o", "json", "admin", "clients").json().path("clients").size()).isGreaterThanOrEqualTo(2);
            // per identity: all connections here are root's
            ok("admin", "limits-set", "--max-clients", "100", "--max-clients-per-identity", "2");
            TestHttp.Response perUid = api.get("/v1/vms");
            assertThat(perUid.status()).isEqualTo(503);
            assertThat(perUid.json().path("error").path("details").path("limit").asText()).isEqualTo("max-clients-per-identity");
        } finally {
            for (TestHttp.Stream s : held) {
                s.close();
            }
            ok("admin", "limits-set", "--max-clients", "2048", "--max-clients-per-identity", "2048");
        }
        assertThat(api.get("/v1/vms").status()).isEqualTo(200);
        Cli bad = jvirt("admin", "limits-set", "--max-streams", "0");
        assertThat(bad.exit()).isEqualTo(7);
        assertThat(ok("-o", "json", "admin", "limits").json().path("limits").path("max-streams").asInt())
                .isEqualTo(ClientLimits.DEFAULT_MAX_STREAMS);
    }

    @Test
    void maxQueuedJobsRefusesOneMoreRequestQueuedForABusyVm() throws Exception {
        assertThat(api.post("/v1/vms", io.jvirt.testing.TestGuest.definition("queued")).status()).isEqualTo(201);
        try {
            assertThat(api.post("/v1/vms/queued/start?wait=true").status()).isEqualTo(200);
            assertThat(api.post("/v1/vms/queued/suspend").status()).isEqualTo(200);
            // a paused guest does not act on the power button: the shutdown job holds the slot
            assertThat(api.post("/v1/vms/queued/shutdown?timeout=600").status()).isEqualTo(202);
            ok("admin", "limits-set", "--max-queued-jobs", "1");
            java.util.concurrent.CompletableFuture<TestHttp.Response> first = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> api.post("/v1/vms/queued/resume?queue=30"), r -> Thread.ofVirtual().start(r));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ok("-o", "json", "admin", "limits").json().path("current").path("queuedJobs").asInt() < 1) {
                assertThat(System.nanoTime()).as("the first request queues").isLessThan(deadline);
                Thread.sleep(20);
            }
            TestHttp.Response second = api.post("/v1/vms/queued/resume?queue=30");
            assertThat(second.status()).isEqualTo(503);
            assertThat(second.json().path("error").path("details").path("limit").asText()).isEqualTo("max-queued-jobs");
            assertThat(api.post("/v1/vms/queued/resume").errorCode()).as("not queued: refused at once").isEqualTo("vm-busy");
            assertThat(api.post("/v1/vms/queued/destroy").status()).isEqualTo(200); // ends the shutdown job
            // the queued resume then gets the slot before destroy's own wait: QEMU is gone or going
            assertThat(first.get(30, java.util.concurrent.TimeUnit.SECONDS).errorCode()).isIn("invalid-state", "qemu-failed");
        } finally {
            ok("admin", "limits-set", "--max-queued-jobs", Integer.toString(ClientLimits.DEFAULT_MAX_QUEUED_JOBS));
            api.post("/v1/vms/queued/destroy");
            api.delete("/v1/vms/queued?queue=10");
        }
    }

    @Test
    void allowedDirectoriesAreAddedAndRemovedAtRunTime() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        assertThat(ok("admin", "allow-dir", "add", dir.toString()).out()).contains(dir.toRealPath().toString());
        assertThat(ok("-o", "json", "admin", "allow-dir", "list").json().path("allowDirs").toString())
                .contains(dir.toRealPath().toString());
        Cli system = jvirt("admin", "allow-dir", "add", "/etc");
        assertThat(system.exit()).isEqualTo(7);
        assertThat(system.err()).contains("system directory");
        ok("admin", "allow-dir", "remove", dir.toString());
        assertThat(ok("admin", "allow-dir", "list").out()).contains("no allowed directories");
        assertThat(jvirt("admin", "allow-dir", "remove", dir.toString()).exit()).isEqualTo(1);
    }

    @Test
    void onlyPersistedChangesSurviveARestart() throws Exception {
        ok("admin", "limits-set", "--max-streams", "77", "--persist");
        ok("admin", "limits-set", "--max-waits", "55");
        ok("admin", "log-level", "io.jvirt.vm", "debug", "--persist");
        Path settings = daemon.stateDir().resolve("admin-settings.json");
        assertThat(Files.readString(settings)).contains("max-streams").doesNotContain("max-waits");
        daemon.kill9();
        daemon.restart();
        api = daemon.http();
        JsonNode limits = ok("-o", "json", "admin", "limits").json().path("limits");
        assertThat(limits.path("max-streams").asInt()).isEqualTo(77);
        assertThat(limits.path("max-waits").asInt()).isEqualTo(ClientLimits.DEFAULT_MAX_WAITS);
        assertThat(ok("-o", "json", "admin", "log-level").json().path("levels").path("io.jvirt.vm").asText()).isEqualTo("DEBUG");
        assertThat(api.get("/v1/host").json().path("server").path("limits").path("max-streams").asInt()).isEqualTo(77);
        // back to the flags' values for the other tests, persisted too
        ok("admin", "limits-set", "--max-streams", Integer.toString(ClientLimits.DEFAULT_MAX_STREAMS), "--persist");
        ok("admin", "log-level", "io.jvirt.vm", "inherit", "--persist");
        assertThat(admin.get("/v1/admin/daemon").status()).isEqualTo(200);
    }
}
