package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.jvirt.cli.CliTestSupport.run;
import static io.jvirt.cli.CliTestSupport.runWithInput;
import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
class JvirtCliTest {
    static final String VM_DEMO = """
            {"name":"demo","uuid":"5f0c-1","state":"running","reason":"booted","stateSince":"2026-11-22T23:40:00.123Z",
             "definition":{"name":"demo","uuid":"5f0c-1","memoryMiB":256,"vcpus":2,"machine":"q35","accel":"auto",
               "disks":[{"name":"vda","path":"/var/lib/jvirt/d.qcow2","format":"qcow2","bus":"virtio","readOnly":false},
                        {"name":"vdb","path":"/var/lib/jvirt/seed.raw","format":"raw","bus":"sata","readOnly":true}],
               "nics":[{"name":"net0","type":"user","model":"virtio-net-pci","mac":"52:54:00:12:34:56"}]},
             "job":null,
             "runtime":{"pid":12345,"accel":"tcg","qmpSocket":"/run/jvirt/vms/demo/qmp.sock","startedAt":"x"}}""";

    static final String OP_RUNNING = "{\"id\":\"op1\",\"kind\":\"start\",\"vm\":\"demo\",\"status\":\"running\","
            + "\"progress\":null,\"error\":null,\"result\":null}";
    static final String OP_DONE = OP_RUNNING.replace("\"running\"", "\"success\"");

    StubServer server;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws Exception {
        server = StubServer.unix();
    }

    @AfterEach
    void stop() throws Exception {
        Path dir = server.dir;
        server.close();
        assertThat(dir).doesNotExist();
    }

    @Test
    void listPrintsTable() {
        server.json("GET", "/v1/vms", 200, """
                [{"name":"alpha","state":"shutoff","reason":"defined","job":null,"runtime":null},
                 {"name":"demo","state":"starting","reason":"user","job":{"name":"start","operation":"op1","since":"t"}}]""");
        var r = run(server, "list", "--all");
        assertThat(r.exit()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(server.last().method()).isEqualTo("GET");
        assertThat(server.last().target()).isEqualTo("/v1/vms");
        assertThat(r.out()).isEqualTo("""
                NAME   STATE     REASON   JOB
                alpha  shutoff   defined  -
                demo   starting  user     start
                """);
    }

    @Test
    void listJsonIsTheApiArray() throws Exception {
        server.json("GET", "/v1/vms", 200, "[{\"name\":\"a\",\"state\":\"shutoff\"}]");
        var r = run(server, "list", "-o", "json");
        assertThat(r.exit()).isZero();
        JsonNode n = Json.parse(r.out());
        assertThat(n.isArray()).isTrue();
        assertThat(n.get(0).get("name").asText()).isEqualTo("a");
        assertThat(r.out()).contains("\n  "); // pretty
    }

    @Test
    void defineConvertsYamlToJson() throws Exception {
        server.on("POST", "/v1/vms", (req, ex) -> ex.json(201, VM_DEMO));
        Path f = tmp.resolve("demo.yaml");
        Files.writeString(f, """
                # a demo VM
                name: demo
                memoryMiB: 256
                vcpus: 2
                boot:
                  kernel: /var/lib/jvirt/guest/vmlinux
                  cmdline: "console=ttyS0 quiet"
                disks:
                  - name: vda
                    path: /var/lib/jvirt/d.qcow2
                    format: qcow2
                    readOnly: false
                nics:
                  - name: net0
                    mac: 52:54:00:12:34:56
                """);
        var r = run(server, "define", f.toString());
        assertThat(r.err()).isEmpty();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("VM demo defined from " + f + "\n");
        StubServer.Request req = server.last();
        assertThat(req.method()).isEqualTo("POST");
        assertThat(req.path()).isEqualTo("/v1/vms");
        assertThat(req.header("content-type")).isEqualTo("application/json");
        JsonNode sent = Json.parse(req.body());
        assertThat(sent).isEqualTo(Json.parse("""
                {"name":"demo","memoryMiB":256,"vcpus":2,
                 "boot":{"kernel":"/var/lib/jvirt/guest/vmlinux","cmdline":"console=ttyS0 quiet"},
                 "disks":[{"name":"vda","path":"/var/lib/jvirt/d.qcow2","format":"qcow2","readOnly":false}],
                 "nics":[{"name":"net0","mac":"52:54:00:12:34:56"}]}"""));
        assertThat(sent.get("memoryMiB").isInt()).isTrue();
    }

    @Test
    void defineSniffsJsonWithoutExtensionAndReadsStdin() throws Exception {
        server.on("POST", "/v1/vms", (req, ex) -> ex.json(201, VM_DEMO));
        Path f = tmp.resolve("demo.def");
        Files.writeString(f, "  {\"name\": \"demo\", \"vcpus\": 1}");
        assertThat(run(server, "define", f.toString()).exit()).isZero();
        assertThat(Json.parse(server.last().body())).isEqualTo(Json.parse("{\"name\":\"demo\",\"vcpus\":1}"));

        var r = runWithInput(server, new ByteArrayInputStream("name: demo\n".getBytes(StandardCharsets.UTF_8)),
                "define", "-", "-o", "json");
        assertThat(r.exit()).isZero();
        assertThat(Json.parse(server.last().body())).isEqualTo(Json.parse("{\"name\":\"demo\"}"));
        assertThat(Json.parse(r.out()).get("uuid").asText()).isEqualTo("5f0c-1");
    }

    @Test
    void defineRejectsDuplicateKeysLocally() throws Exception {
        Path y = tmp.resolve("dup.yaml");
        Files.writeString(y, "name: a\nvcpus: 1\nname: b\n");
        var r = run(server, "define", y.toString());
        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.err()).startsWith("jvirt: error: ").contains("duplicate key 'name'");
        Path j = tmp.resolve("dup.json");
        Files.writeString(j, "{\"name\":\"a\",\"boot\":{\"kernel\":\"/k\",\"kernel\":\"/k2\"}}");
        r = run(server, "define", j.toString());
        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.err()).contains("duplicate key 'kernel'");
        assertThat(server.requests).isEmpty();
    }

    @Test
    void defineBadFiles() throws Exception {
        var r = run(server, "define", tmp.resolve("missing.yaml").toString());
        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.err()).contains("no such file");
        Path list = tmp.resolve("list.yaml");
        Files.writeString(list, "- a\n- b\n");
        assertThat(run(server, "define", list.toString()).err()).contains("must be a mapping");
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "name: [unclosed\n");
        r = run(server, "define", bad.toString());
        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.err()).startsWith("jvirt: error: " + bad + ": invalid YAML");
        Path empty = tmp.resolve("empty.yaml");
        Files.writeString(empty, "");
        assertThat(run(server, "define", empty.toString()).err()).contains("empty");
        assertThat(server.requests).isEmpty();
    }

    @Test
    void defineUnknownFieldPrintsDaemonMessage() throws Exception {
        server.on("POST", "/v1/vms",
                (req, ex) -> ex.error(400, "invalid-definition", "unknown field 'cpus' in definition"));
        Path f = tmp.resolve("d.yaml");
        Files.writeString(f, "name: demo\ncpus: 2\n");
        var r = run(server, "define", f.toString());
        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("jvirt: error: unknown field 'cpus' in definition\n");
    }

    @Test
    void undefine() {
        server.json("DELETE", "/v1/vms/demo", 200, "{\"undefined\":\"demo\"}");
        var r = run(server, "undefine", "demo");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("VM demo undefined\n");
        assertThat(server.last().toString()).isEqualTo("DELETE /v1/vms/demo");
    }

    @Test
    void startWaitsWithWaitTrue() {
        server.json("POST", "/v1/vms/demo/start", 200, OP_DONE);
        var r = run(server, "start", "demo");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("VM demo started\n");
        assertThat(server.requests).hasSize(1);
        assertThat(server.last().toString()).isEqualTo("POST /v1/vms/demo/start?wait=true");
        assertThat(server.last().header("content-length")).isEqualTo("0");
    }

    @Test
    void startWithTimeoutUsesOperationWaitOnOneConnection() {
        server.json("POST", "/v1/vms/demo/start", 202, OP_RUNNING);
        server.json("GET", "/v1/operations/op1/wait", 200, OP_DONE);
        var r = run(server, "start", "demo", "--timeout", "5", "-o", "json");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("\"status\" : \"success\"");
        assertThat(server.requests).extracting(Object::toString)
                .containsExactly("POST /v1/vms/demo/start", "GET /v1/operations/op1/wait?timeout=5");
        assertThat(server.connections.get()).isEqualTo(1); // keep-alive
    }

    @Test
    void startTimesOutWhenOperationKeepsRunning() {
        server.json("POST", "/v1/vms/demo/start", 202, OP_RUNNING);
        server.on("GET", "/v1/operations/op1/wait", (req, ex) -> {
            Thread.sleep(1100);
            ex.json(200, OP_RUNNING);
        });
        var r = run(server, "start", "demo", "--timeout", "1");
        assertThat(r.exit()).isEqualTo(6);
        assertThat(r.err()).contains("timed out after 1 s").contains("op1");
    }

    @Test
    void startNoWait() {
        server.json("POST", "/v1/vms/demo/start", 202, OP_RUNNING);
        var r = run(server, "start", "demo", "--no-wait");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("VM demo is starting (operation op1)\n");
        assertThat(server.last().target()).isEqualTo("/v1/vms/demo/start");
    }

    @Test
    void startFailureFromQemu() {
        server.on("POST", "/v1/vms/demo/start",
                (req, ex) -> ex.error(500, "qemu-failed", "qemu-system-x86_64: -drive: Could not open disk"));
        var r = run(server, "start", "demo");
        assertThat(r.exit()).isEqualTo(8);
        assertThat(r.err()).isEqualTo("jvirt: error: qemu-system-x86_64: -drive: Could not open disk\n");
    }

    @Test
    void failedOperationMapsItsError() {
        server.json("POST", "/v1/vms/demo/start", 202, OP_RUNNING);
        server.json("GET", "/v1/operations/op1/wait", 200, OP_RUNNING.replace("\"running\"", "\"failure\"")
                .replace("\"error\":null", "\"error\":{\"code\":\"qemu-failed\",\"message\":\"boom\"}"));
        var r = run(server, "start", "demo", "--timeout", "10");
        assertThat(r.exit()).isEqualTo(8);
        assertThat(r.err()).isEqualTo("jvirt: error: boom\n");
    }

    @Test
    void shutdownPassesTimeoutAndMapsTimeout() {
        server.on("POST", "/v1/vms/demo/shutdown",
                (req, ex) -> ex.error(504, "timeout", "guest did not power off within 30 s"));
        var r = run(server, "shutdown", "demo", "--timeout", "30");
        assertThat(r.exit()).isEqualTo(6);
        assertThat(r.err()).isEqualTo("jvirt: error: guest did not power off within 30 s\n");
        assertThat(server.last().toString()).isEqualTo("POST /v1/vms/demo/shutdown?timeout=30&wait=true");

        server.json("POST", "/v1/vms/demo/shutdown", 200, OP_DONE.replace("start", "shutdown"));
        r = run(server, "shutdown", "demo");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("VM demo shut down\n");
        assertThat(server.last().target()).isEqualTo("/v1/vms/demo/shutdown?wait=true");

        server.json("POST", "/v1/vms/demo/shutdown", 202, OP_RUNNING);
        r = run(server, "shutdown", "demo", "--no-wait");
        assertThat(r.out()).isEqualTo("VM demo is shutting down (operation op1)\n");
        assertThat(server.last().target()).isEqualTo("/v1/vms/demo/shutdown");
    }

    @Test
    void destroySuspendResume() {
        for (String action : new String[] {"destroy", "suspend", "resume"}) {
            server.json("POST", "/v1/vms/demo/" + action, 200, VM_DEMO);
            var r = run(server, action, "demo");
            assertThat(r.exit()).isZero();
            assertThat(r.out()).isEqualTo("VM demo " + action + (action.endsWith("e") ? "d" : "ed") + "\n");
            assertThat(server.last().toString()).isEqualTo("POST /v1/vms/demo/" + action);
        }
        var r = run(server, "suspend", "demo", "-o", "json");
        assertThat(r.out()).startsWith("{\n  \"name\" : \"demo\"");
    }

    @Test
    void vmNamesAreEncoded() {
        server.json("GET", "/v1/vms/a%20b%3F", 200, VM_DEMO);
        assertThat(run(server, "info", "a b?").exit()).isZero();
        assertThat(server.last().target()).isEqualTo("/v1/vms/a%20b%3F");
    }

    @Test
    void infoLikeDominfo() {
        server.json("GET", "/v1/vms/demo", 200, VM_DEMO);
        var r = run(server, "info", "demo");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("""
                Name:     demo
                UUID:     5f0c-1
                State:    running
                Reason:   booted
                Since:    2026-11-22T23:40:00.123Z
                vCPUs:    2
                Memory:   256 MiB
                Accel:    tcg
                PID:      12345
                Job:      -
                Disks:    vda /var/lib/jvirt/d.qcow2 (qcow2, virtio)
                          vdb /var/lib/jvirt/seed.raw (raw, sata, read-only)
                NICs:     net0 user virtio-net-pci 52:54:00:12:34:56
                """);
    }

    @ParameterizedTest
    @CsvSource({
        "404, vm-not-found, 3", "404, operation-not-found, 3", "409, vm-exists, 4", "409, invalid-state, 4",
        "409, vm-busy, 4", "504, timeout, 6", "400, invalid-definition, 7", "400, invalid-name, 7",
        "400, invalid-argument, 7", "400, disk-not-found, 7", "500, qemu-failed, 8", "500, internal, 1",
        "404, not-found, 1", "409, some-future-code, 4"})
    void errorCodesMapToExitCodes(int status, String code, int exit) {
        server.on("POST", "/v1/vms/web1/destroy", (req, ex) -> ex.error(status, code, "msg for " + code));
        var r = run(server, "destroy", "web1");
        assertThat(r.exit()).isEqualTo(exit);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("jvirt: error: msg for " + code + "\n");
    }

    @Test
    void nonJsonErrorBody() {
        server.on("GET", "/v1/vms", (req, ex) -> ex.respond(502, "text/plain", "bad gateway".getBytes()));
        var r = run(server, "list");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("jvirt: error: HTTP 502: bad gateway\n");
    }

    @Test
    void chunkedAnswerIsDecoded() {
        server.on("GET", "/v1/vms", (req, ex) -> {
            ex.startChunked(200, "application/json");
            ex.chunk("[{\"name\":\"al");
            ex.chunk("pha\",\"state\":\"running\",\"reason\":\"booted\",\"job\":null}");
            ex.chunk("]");
            ex.endChunked();
        });
        server.json("GET", "/v1/vms/alpha", 200, VM_DEMO);
        var r = run(server, "list");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("alpha  running  booted  -");
    }

    @Test
    void consoleWithoutFollowPrintsWhatIsThere() {
        server.on("GET", "/v1/vms/demo/console",
                (req, ex) -> ex.respond(200, "text/plain", "login: \u00e9\r\n".getBytes(StandardCharsets.UTF_8)));
        var r = run(server, "console", "demo");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("login: \u00e9\r\n");
        assertThat(server.last().target()).isEqualTo("/v1/vms/demo/console?follow=false");
    }

    @Test
    void consoleFollowStreamsIncrementallyAndForwardsStdin() throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        server.on("GET", "/v1/vms/demo/console", (req, ex) -> {
            ex.startChunked(200, "text/plain");
            ex.chunk("booting...\n");
            // the client must show this before the rest arrives
            if (!firstSeen.await(10, TimeUnit.SECONDS)) ex.chunk("CLIENT DID NOT STREAM\n");
            ex.chunk("login: ");
            ex.endChunked();
        });
        server.on("POST", "/v1/vms/demo/console", (req, ex) -> ex.respond(204, null, new byte[0]));
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        OutputStream out = new OutputStream() {
            @Override
            public synchronized void write(int b) { write(new byte[] {(byte) b}, 0, 1); }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                seen.write(b, off, len);
                if (seen.toString(StandardCharsets.UTF_8).contains("booting...")) firstSeen.countDown();
            }
        };
        InputStream in = new ByteArrayInputStream("root\n".getBytes(StandardCharsets.UTF_8));
        var r = CliTestSupport.runTo(server, in, out, new ByteArrayOutputStream(), "console", "demo", "-f");
        assertThat(r.exit()).isZero();
        assertThat(seen.toString(StandardCharsets.UTF_8)).isEqualTo("booting...\nlogin: ");
        server.awaitRequests(2, 5000);
        StubServer.Request typed = server.requests.stream().filter(q -> q.method().equals("POST")).findFirst()
                .orElseThrow();
        assertThat(typed.path()).isEqualTo("/v1/vms/demo/console");
        assertThat(typed.bodyText()).isEqualTo("root\n");
        assertThat(typed.header("content-type")).isEqualTo("application/octet-stream");
        assertThat(server.requests.stream().filter(q -> q.method().equals("GET")).findFirst().orElseThrow()
                .target()).isEqualTo("/v1/vms/demo/console?follow=true");
    }

    @Test
    void consoleCtrlBracketDetaches() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        server.on("GET", "/v1/vms/demo/console", (req, ex) -> {
            ex.startChunked(200, "text/plain");
            ex.chunk("$ ");
            never.await(20, TimeUnit.SECONDS); // stream stays open
        });
        server.on("POST", "/v1/vms/demo/console", (req, ex) -> ex.respond(204, null, new byte[0]));
        java.io.ByteArrayOutputStream shown = new java.io.ByteArrayOutputStream();
        InputStream in = new InputStream() { // "ls\n", then Ctrl-] once the output has reached the terminal
            final byte[] data = "ls\n\u001d".getBytes(StandardCharsets.UTF_8);
            int i;

            @Override
            public int read() throws java.io.IOException {
                if (i == data.length - 1) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (shown.size() == 0 && System.nanoTime() < deadline) {
                        try {
                            Thread.sleep(10);
                        } catch (InterruptedException e) {
                            throw new java.io.InterruptedIOException();
                        }
                    }
                }
                return i < data.length ? data[i++] : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) throws java.io.IOException {
                int c = read();
                if (c < 0) return -1;
                b[off] = (byte) c;
                return 1;
            }
        };
        var r = CliTestSupport.runTo(server, in, shown, new java.io.ByteArrayOutputStream(), "console", "demo", "--follow");
        never.countDown();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("$ ");
        assertThat(server.requests.stream().filter(q -> q.method().equals("POST"))
                .map(StubServer.Request::bodyText)).containsExactly("l", "s", "\n");
    }

    @Test
    void consoleNoStdinDoesNotPost() {
        server.on("GET", "/v1/vms/demo/console", (req, ex) -> {
            ex.startChunked(200, "text/plain");
            ex.chunk("hello");
            ex.endChunked();
        });
        var r = runWithInput(server, new ByteArrayInputStream("x".getBytes()), "console", "demo", "-f", "--no-stdin");
        assertThat(r.out()).isEqualTo("hello");
        assertThat(server.requests).extracting(StubServer.Request::method).containsOnly("GET");
    }

    @Test
    void consoleOfMissingVm() {
        server.on("GET", "/v1/vms/nope/console", (req, ex) -> ex.error(404, "vm-not-found", "no VM named 'nope'"));
        var r = run(server, "console", "nope", "-f", "--no-stdin");
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.err()).isEqualTo("jvirt: error: no VM named 'nope'\n");
    }

    static final String SSE_BODY = """
            : keep-alive

            event: lifecycle
            data: {"type":"lifecycle","vm":"demo","state":"running","previous":"starting","reason":"booted","time":"2026-11-22T23:40:00.123Z"}

            event: operation
            data: {"type":"operation","operation":{"id":"op1","kind":"start","vm":"demo","status":"success","error":null},"time":"2026-11-22T23:40:00.200Z"}

            """;

    @Test
    void eventsTable() {
        server.on("GET", "/v1/events", (req, ex) -> {
            ex.startChunked(200, "text/event-stream");
            ex.chunk(SSE_BODY.substring(0, 40));
            ex.chunk(SSE_BODY.substring(40));
            ex.endChunked();
        });
        var r = run(server, "events", "--vm", "demo");
        assertThat(r.exit()).isZero();
        assertThat(server.last().target()).isEqualTo("/v1/events?vm=demo");
        assertThat(server.last().header("accept")).isEqualTo("text/event-stream");
        assertThat(r.out().lines()).containsExactly(
                "TIME                      TYPE       VM                STATE/STATUS",
                "2026-11-22T23:40:00.123Z  lifecycle  demo              running        from=starting reason=booted",
                "2026-11-22T23:40:00.200Z  operation  demo              success        op=start id=op1");
    }

    @Test
    void eventsJson() throws Exception {
        server.on("GET", "/v1/events", (req, ex) -> {
            ex.startChunked(200, "text/event-stream");
            ex.chunk(SSE_BODY);
            ex.endChunked();
        });
        var r = run(server, "-o", "json", "events");
        assertThat(r.exit()).isZero();
        assertThat(r.out().lines()).hasSize(2);
        assertThat(Json.parse(r.out().lines().toList().get(1)).path("operation").path("id").asText()).isEqualTo("op1");
    }

    @Test
    void unreachableDaemon() {
        Path missing = tmp.resolve("no.sock");
        var r = CliTestSupport.runWithInput(null, InputStream.nullInputStream(), "--socket", missing.toString(), "list");
        assertThat(r.exit()).isEqualTo(5);
        assertThat(r.err()).isEqualTo("jvirt: error: cannot reach jvirtd at " + missing + ": is it running?\n");
    }

    @Test
    void remoteOnlyOverTls() {
        // plain HTTP is gone: --connect takes tls:// only, and says how to reach a local daemon
        var r = CliTestSupport.runWithInput(null, InputStream.nullInputStream(), "--connect", "http://127.0.0.1:1", "list");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("tls://HOST[:PORT]").contains("--socket");
    }

    @Test
    void usageErrors() {
        var r = run(server, "start");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("jvirt: error: Missing required parameter: 'VM'");
        assertThat(run(server, "frobnicate").exit()).isEqualTo(2);
        assertThat(run(server, "--connect", "http://x:1", "list").exit()).isEqualTo(2);
        assertThat(run(server, "start", "demo", "--timeout", "0").exit()).isEqualTo(2);
        assertThat(run(server, "-o", "yaml", "list").exit()).isEqualTo(2);
        assertThat(server.requests).isEmpty();
    }

    @Test
    void helpDocumentsExitCodes() {
        var r = run(null, "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Exit codes:").contains("5  jvirtd unreachable").contains("console")
                .contains("events");
        assertThat(run(null, "start", "--help").out()).contains("--no-wait").contains("--socket");
    }
}
