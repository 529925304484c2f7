package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Property tests of the HTTP edge on a real daemon: random methods, paths (the API's own templates with random
 * segments and queries), headers and bodies, raw random bytes, and random orders of lifecycle calls on a few VMs.
 * Whatever comes: never an {@code internal} error (nor any 500 but a QEMU or tool failure), the daemon keeps
 * answering, and a refused request changes nothing in the state directory's documents.
 */
class HttpEdgeFuzzTest {
    static DaemonProcess daemon;
    static TestHttp api;
    static final Set<String> ALLOWED_500 = Set.of("qemu-failed", "image-tool-failed", "network-failed",
            "definition-not-written");

    @BeforeContainer
    static void start() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        assertThat(api.post("/v1/vms", TestGuest.definition("fuzzvm")).status()).isEqualTo(201);
    }

    @AfterContainer
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    record Answer(int status, String code) {
    }

    /** Sends raw bytes on a fresh connection; the status and error code of the answer (status -1: none in time). */
    static Answer exchange(byte[] request) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(daemon.socket()));
            ch.write(ByteBuffer.wrap(request));
            ch.shutdownOutput(); // nothing more comes: the daemon answers or closes instead of waiting for more
            CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> readAll(ch),
                    r -> Thread.ofVirtual().start(r));
            byte[] got;
            try {
                got = read.get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                ch.close(); // a stream (events, console follow) or a request body still expected: fine
                got = read.get(5, TimeUnit.SECONDS);
            }
            return parse(got);
        }
    }

    private static byte[] readAll(SocketChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(8192);
        try {
            while (ch.read(buf) > 0 || buf.position() > 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
                if (out.size() > 1 << 20) {
                    break;
                }
            }
        } catch (IOException closed) {
            // closed by us after the timeout, or by the daemon
        }
        return out.toByteArray();
    }

    private static Answer parse(byte[] raw) {
        String s = new String(raw, StandardCharsets.ISO_8859_1);
        if (!s.startsWith("HTTP/1.1 ")) {
            return new Answer(-1, null);
        }
        int status = Integer.parseInt(s.substring(9, 12));
        int at = s.indexOf("\"code\"");
        String code = null;
        if (at >= 0) {
            int q1 = s.indexOf('"', s.indexOf(':', at) + 1);
            code = s.substring(q1 + 1, s.indexOf('"', q1 + 1));
        }
        return new Answer(status, code);
    }

    /** The state directory's documents: path to size and modification time. */
    static Map<String, String> documents() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(daemon.stateDir())) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".json") || name.endsWith(".reason")) {
                    m.put(daemon.stateDir().relativize(p).toString(), Files.size(p) + "@" + Files.getLastModifiedTime(p));
                }
            }
        } catch (java.io.UncheckedIOException e) {
            // a file replaced while walking: compare the next time
        }
        return m;
    }

    static void assertSane(Answer a, String what) {
        assertThat(a.code()).as("%s -> %s", what, a).isNotEqualTo("internal");
        if (a.status() >= 500 && a.status() != 503 && a.status() != 504) {
            assertThat(a.code()).as("%s -> %s", what, a).isIn(ALLOWED_500);
        }
    }

    /** After a request that did something: the test VM back to shut off and defined, as the next tries expect. */
    static void resetFuzzVm() {
        api.post("/v1/vms/fuzzvm/destroy");
        if (api.get("/v1/vms/fuzzvm").status() == 404) {
            api.post("/v1/vms", TestGuest.definition("fuzzvm"));
        }
    }

    @Property(tries = 1000)
    void randomRequestsNeverFailInternallyNorChangeStateWhenRefused(@ForAll("requests") byte[] request) throws Exception {
        Map<String, String> before = documents();
        Answer a = exchange(request);
        String what = new String(request, 0, Math.min(request.length, 200), StandardCharsets.ISO_8859_1);
        assertSane(a, what);
        if (a.status() >= 400) {
            assertThat(documents()).as("refused %s -> %s changed nothing", what, a).isEqualTo(before);
        } else if (a.status() >= 200) {
            resetFuzzVm();
        }
        assertThat(api.get("/v1/host").status()).as("the daemon answers after %s", what).isEqualTo(200);
    }

    @Property(tries = 300)
    void randomBytesNeverStopTheDaemon(@ForAll byte[] junk) throws Exception {
        Map<String, String> before = documents();
        Answer a = exchange(junk);
        assertSane(a, "junk");
        if (a.status() >= 400 || a.status() == -1) {
            assertThat(documents()).isEqualTo(before);
        }
        assertThat(api.get("/v1/vms").status()).isEqualTo(200);
    }

    @Property(tries = 15)
    void randomOrdersOfLifecycleCallsOnAFewVms(@ForAll("lifecycles") List<String> calls) throws Exception {
        try {
            for (String vm : List.of("l1", "l2", "l3")) {
                assertThat(api.post("/v1/vms", TestGuest.definition(vm)).status()).isEqualTo(201);
            }
            for (String call : calls) {
                String[] p = call.split(" ", 2);
                TestHttp.Response r = switch (p[0]) {
                    case "POST-DEF" -> api.post("/v1/vms", TestGuest.definition(p[1]));
                    case "POST" -> api.post(p[1]);
                    case "DELETE" -> api.delete(p[1]);
                    default -> api.get(p[1]);
                };
                Answer a = new Answer(r.status(), r.status() >= 400 ? r.errorCode() : null);
                assertSane(a, call);
                assertThat(r.status()).as(call).isNotEqualTo(500);
            }
            for (JsonNode vm : api.get("/v1/vms").json()) {
                assertThat(vm.path("state").asText()).isIn("shutoff", "running", "paused", "crashed", "starting",
                        "shutting-down");
            }
        } finally {
            for (String vm : List.of("l1", "l2", "l3")) {
                api.post("/v1/vms/" + vm + "/destroy");
                api.delete("/v1/vms/" + vm + "?queue=10");
            }
        }
        assertThat(api.get("/v1/vms").json().size()).isEqualTo(1); // fuzzvm
    }

    // ---- generators ----------------------------------------------------------------------------------------

    static Arbitrary<String> segments() {
        return Arbitraries.oneOf(Arbitraries.of("fuzzvm", "nosuch", "default", "d0", "..", "%2e%2e", "%00", "a%2Fb",
                        "%ZZ", "\u00e9", "x".repeat(300), "-", "1", "0", "", "{name}", "%20", ";", "~"),
                Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(12).map(s ->
                        s.replace(" ", "%20").replace("?", "%3F").replace("#", "%23")));
    }

    static Arbitrary<String> paths() {
        Arbitrary<String> template = Arbitraries.of("/v1/vms", "/v1/vms/{}", "/v1/vms/{}/start", "/v1/vms/{}/shutdown",
                "/v1/vms/{}/destroy", "/v1/vms/{}/suspend", "/v1/vms/{}/resume", "/v1/vms/{}/console", "/v1/vms/{}/stats",
                "/v1/vms/{}/snapshots", "/v1/vms/{}/snapshots/{}", "/v1/vms/{}/snapshots/{}/revert", "/v1/vms/{}/export",
                "/v1/vms/{}/disks/{}/copy", "/v1/vms/{}/disks/{}/job", "/v1/vms/{}/disks/{}/job/pivot", "/v1/vms/{}/guest",
                "/v1/vms/{}/guest/exec", "/v1/host", "/v1/operations", "/v1/operations/{}", "/v1/operations/{}/wait",
                "/v1/pools", "/v1/pools/{}", "/v1/pools/{}/volumes", "/v1/pools/{}/volumes/{}",
                "/v1/pools/{}/volumes/{}/resize", "/v1/networks", "/v1/networks/{}", "/v1/networks/{}/start",
                "/v1/images", "/v1/images/{}", "/v1/images/{}/build", "/v1/images/import", "/v1/stats", "/metrics",
                "/v1/admin/daemon", "/", "", "*", "//v1//vms", "/v1/{}", "/{}");
        Arbitrary<String> query = Arbitraries.oneOf(Arbitraries.just(""),
                Combinators.combine(Arbitraries.of("wait", "queue", "timeout", "follow", "tail", "offset", "length",
                                "mode", "force", "maxAge", "persist", "x"),
                        Arbitraries.of("", "true", "false", "0", "-1", "1e9", "NaN", "abc", "0.5", "99999999999999999999",
                                "%00")).as((k, v) -> "?" + k + "=" + v));
        return Combinators.combine(template, segments(), segments(), query).as((t, a, b, q) -> {
            String p = t.replaceFirst("\\{}", java.util.regex.Matcher.quoteReplacement(a))
                    .replaceFirst("\\{}", java.util.regex.Matcher.quoteReplacement(b));
            // a running stream would not end: never follow
            return (p + q).replace("follow=true", "follow=false");
        });
    }

    static Arbitrary<String> headers() {
        return Arbitraries.oneOf(
                Arbitraries.of("Content-Type: application/json", "Content-Type: text/plain", "Content-Type: ",
                        "Content-Length: 0", "Content-Length: -1", "Content-Length: 99999999999",
                        "Content-Length: abc", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip",
                        "Expect: 100-continue", "Host: ", "Host: a\u0000b", "Connection: keep-alive", "X-Large: "
                                + "y".repeat(20000), "Accept: */*", ": empty-name", "Bad Header", "Range: bytes=0-"),
                Combinators.combine(Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(10),
                        Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(30)).as((k, v) -> k + ": " + v));
    }

    static Arbitrary<byte[]> bodies() {
        return Arbitraries.oneOf(Arbitraries.just(new byte[0]),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(200),
                Arbitraries.of("{}", "[]", "null", "{\"name\": 1}", "{\"name\":\"fuzzvm\"}", "{\"a\":", "\"x\"",
                        "{\"name\":\"n1\",\"memoryMiB\":-5}", "{\"path\":\"/etc\"}", "{\"snapshot\":\"s\"}",
                        "{\"size\":\"1T\"}", "{\"name\":\"v\",\"format\":\"qcow2\",\"size\":\"-1\"}",
                        "{\"level\":\"DEBUG\"}", "{\"command\":[\"/bin/true\"]}").map(s -> s.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<byte[]> requests() {
        Arbitrary<String> method = Arbitraries.oneOf(Arbitraries.of("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
                "OPTIONS", "TRACE"), Arbitraries.strings().withCharRange('A', 'Z').ofMinLength(1).ofMaxLength(8));
        return Combinators.combine(method, paths(), headers().list().ofMaxSize(4), bodies(), Arbitraries.of(true, false))
                .as((m, p, hs, body, declare) -> {
                    StringBuilder sb = new StringBuilder(m).append(' ').append(p.isEmpty() ? "/" : p)
                            .append(" HTTP/1.1\r\nHost: jvirt\r\nConnection: close\r\n");
                    hs.forEach(h -> sb.append(h).append("\r\n"));
                    if (declare) {
                        sb.append("Content-Length: ").append(body.length).append("\r\n");
                    }
                    sb.append("\r\n");
                    byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
                    byte[] all = new byte[head.length + body.length];
                    System.arraycopy(head, 0, all, 0, head.length);
                    System.arraycopy(body, 0, all, head.length, body.length);
                    return all;
                });
    }

    @Provide
    Arbitrary<List<String>> lifecycles() {
        Arbitrary<String> vm = Arbitraries.of("l1", "l2", "l3");
        Arbitrary<String> action = Arbitraries.frequency(net.jqwik.api.Tuple.of(1, "define"),
                net.jqwik.api.Tuple.of(3, "start"), net.jqwik.api.Tuple.of(1, "start-queued"),
                net.jqwik.api.Tuple.of(1, "shutdown"), net.jqwik.api.Tuple.of(2, "destroy"),
                net.jqwik.api.Tuple.of(2, "suspend"), net.jqwik.api.Tuple.of(2, "resume"),
                net.jqwik.api.Tuple.of(1, "undefine"), net.jqwik.api.Tuple.of(1, "undefine-queued"),
                net.jqwik.api.Tuple.of(2, "concurrent-start"),
                net.jqwik.api.Tuple.of(1, "get"));
        Arbitrary<String> call = Combinators.combine(action, vm).as((a, v) -> switch (a) {
                    case "define" -> "POST-DEF " + v;
                    case "start" -> "POST /v1/vms/" + v + "/start?wait=true";
                    case "start-queued" -> "POST /v1/vms/" + v + "/start?queue=2";
                    case "concurrent-start" -> "POST /v1/vms/" + v + "/start";
                    case "shutdown" -> "POST /v1/vms/" + v + "/shutdown?timeout=1";
                    case "undefine" -> "DELETE /v1/vms/" + v;
                    case "undefine-queued" -> "DELETE /v1/vms/" + v + "?queue=2";
                    case "get" -> "GET /v1/vms/" + v;
                    default -> "POST /v1/vms/" + v + "/" + a;
                });
        return call.list().ofMinSize(5).ofMaxSize(10);
    }
}
