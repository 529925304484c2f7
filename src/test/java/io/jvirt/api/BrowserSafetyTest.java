package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.testing.Command;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a web page could send: a cross-origin {@code text/plain} POST (no CORS preflight) and any request with an
 * Origin that is not allowed are refused and change nothing; the CLI's and the documented curl requests still work.
 * (A wrong Host on TLS: {@link TlsAccessTest}.)
 */
class BrowserSafetyTest {
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew("--allow-origin", "https://ui.example");
        api = daemon.http();
        assertThat(api.post("/v1/vms", TestGuest.definition("page")).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    static TestHttp.Response raw(String request) throws Exception {
        return api.raw(request.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void textPlainPostIsRefused() throws Exception {
        // what <form enctype=text/plain> or fetch(no-cors) sends, without Origin (e.g. a privacy extension strips it)
        TestHttp.Response r = api.send("POST", "/v1/vms/page/start", "x=y".getBytes(), "text/plain");
        assertThat(r.status()).as(r.toString()).isEqualTo(415);
        assertThat(r.errorCode()).isEqualTo("unsupported-media-type");
        TestHttp.Response form = api.send("POST", "/v1/vms", "name=evil".getBytes(), "application/x-www-form-urlencoded");
        assertThat(form.status()).isEqualTo(415);
        assertThat(api.send("DELETE", "/v1/vms/page", "x".getBytes(), "text/plain").status()).isEqualTo(415);
        assertThat(api.get("/v1/vms/page").json().path("state").asText()).isEqualTo("shutoff");
        assertThat(api.get("/v1/vms").json().size()).isEqualTo(1);
    }

    @Test
    void aForeignOriginIsRefusedEvenForReads() throws Exception {
        TestHttp.Response post = raw("POST /v1/vms/page/start HTTP/1.1\r\nHost: jvirt\r\nOrigin: http://evil.example\r\n"
                + "Content-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
        assertThat(post.status()).isEqualTo(403);
        assertThat(post.json().path("error").path("message").asText()).contains("Origin 'http://evil.example'");
        TestHttp.Response read = raw("GET /v1/vms HTTP/1.1\r\nHost: jvirt\r\nOrigin: null\r\nConnection: close\r\n\r\n");
        assertThat(read.status()).isEqualTo(403);
        TestHttp.Response allowed = raw("GET /v1/vms HTTP/1.1\r\nHost: jvirt\r\nOrigin: https://ui.example\r\n"
                + "Connection: close\r\n\r\n");
        assertThat(allowed.status()).isEqualTo(200);
        assertThat(allowed.headers()).containsEntry("access-control-allow-origin", "https://ui.example");
        TestHttp.Response preflight = raw("OPTIONS /v1/vms/page/start HTTP/1.1\r\nHost: jvirt\r\nOrigin: https://ui.example\r\n"
                + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n");
        assertThat(preflight.status()).isEqualTo(204);
        assertThat(preflight.headers()).containsKey("access-control-allow-methods");
        TestHttp.Response foreignPreflight = raw("OPTIONS /v1/vms/page/start HTTP/1.1\r\nHost: jvirt\r\nOrigin: http://evil.example\r\n"
                + "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n");
        assertThat(foreignPreflight.status()).isEqualTo(403);
        assertThat(foreignPreflight.headers()).doesNotContainKey("access-control-allow-origin");
        assertThat(api.get("/v1/vms/page").json().path("state").asText()).isEqualTo("shutoff");
    }

    @Test
    void cliAndCurlExamplesStillWork() throws Exception {
        String sock = daemon.socket().toString();
        java.nio.file.Files.createDirectories(daemon.root().resolve("p1"));
        // docs/api.md: bodyless POSTs and JSON bodies with their Content-Type
        Command.Result pool = Command.run(List.of("curl", "-s", "--unix-socket", sock, "-X", "POST", "-H",
                "Content-Type: application/json", "-d", "{\"name\":\"p1\",\"path\":\"" + daemon.root().resolve("p1") + "\"}",
                "-w", "\n%{http_code}", "http://jvirt/v1/pools"));
        assertThat(pool.output()).as(pool.output()).endsWith("201");
        Command.Result suspend = Command.run(List.of("curl", "-s", "--unix-socket", sock, "-X", "POST", "-w",
                "\n%{http_code}", "http://jvirt/v1/vms/page/suspend"));
        assertThat(suspend.output()).endsWith("409"); // refused for its state, not for its form
        ByteArrayRun list = ByteArrayRun.cli("--socket", sock, "list");
        assertThat(list.exit()).as(list.err()).isZero();
        assertThat(list.out()).contains("page");
    }

    record ByteArrayRun(int exit, String out, String err) {
        static ByteArrayRun cli(String... args) {
            var out = new java.io.ByteArrayOutputStream();
            var err = new java.io.ByteArrayOutputStream();
            int exit = io.jvirt.cli.JvirtCli.run(args, new java.io.PrintStream(out, true, StandardCharsets.UTF_8),
                    new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
            return new ByteArrayRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }
}
