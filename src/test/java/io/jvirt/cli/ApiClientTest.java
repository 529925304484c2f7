package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class ApiClientTest {
    StubServer server;
    ApiClient client;

    @BeforeEach
    void start() throws Exception {
        server = StubServer.unix();
        client = ApiClient.unixSocket(server.socket);
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        server.close();
    }

    @Test
    void keepAliveReusesOneConnection() throws Exception {
        server.json("GET", "/v1/vms", 200, "[]");
        server.json("POST", "/v1/vms", 201, "{\"name\":\"x\"}");
        for (int i = 0; i < 3; i++) assertThat(client.get("/v1/vms").isArray()).isTrue();
        JsonNode vm = client.post("/v1/vms", Map.of("k", "a b&c"), Json.object().put("name", "x"));
        assertThat(vm.get("name").asText()).isEqualTo("x");
        assertThat(server.last().target()).isEqualTo("/v1/vms?k=a%20b%26c");
        assertThat(server.last().bodyText()).isEqualTo("{\"name\":\"x\"}");
        assertThat(server.connections.get()).isEqualTo(1);
    }

    @Test
    void retriesOnceWhenTheServerClosedTheIdleConnection() throws Exception {
        server.on("GET", "/v1/host", (req, ex) -> {
            ex.json(200, "{\"version\":\"1\"}");
            ex.close = true; // closes without saying "Connection: close"
        });
        assertThat(client.get("/v1/host").get("version").asText()).isEqualTo("1");
        Thread.sleep(50);
        assertThat(client.get("/v1/host").get("version").asText()).isEqualTo("1");
        assertThat(server.connections.get()).isEqualTo(2);
    }

    @Test
    void chunkExtensionsAndTrailersAndNoContent() throws Exception {
        server.on("GET", "/v1/vms/a/console", (req, ex) -> {
            ex.out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3;ext=1\r\nabc\r\n1\r\n\n\r\n0\r\nX-Trailer: t\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            ex.out.flush();
        });
        server.on("POST", "/v1/vms/a/console", (req, ex) -> ex.respond(204, null, new byte[0]));
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        client.stream("GET", "/v1/vms/a/console", null, got::write);
        assertThat(got.toString(StandardCharsets.UTF_8)).isEqualTo("abc\n");
        assertThat(client.callRaw("POST", "/v1/vms/a/console", null, new byte[] {1, 2}, "application/octet-stream"))
                .isEmpty();
        assertThat(server.last().body()).containsExactly(1, 2);
        assertThat(server.connections.get()).isEqualTo(1); // the fully read chunked answer freed the connection
    }

    @Test
    void errorBodyBecomesApiException() {
        server.on("GET", "/v1/vms/web1", (req, ex) -> ex.json(404,
                "{\"error\":{\"code\":\"vm-not-found\",\"message\":\"no VM named 'web1'\",\"details\":{\"vm\":\"web1\"}}}"));
        assertThatThrownBy(() -> client.get("/v1/vms/web1")).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.status()).isEqualTo(404);
            assertThat(e.code()).isEqualTo("vm-not-found");
            assertThat(e.getMessage()).isEqualTo("no VM named 'web1'");
            assertThat(e.details().get("vm").asText()).isEqualTo("web1");
        });
    }

    @Test
    void clientSideTimeout() {
        server.on("GET", "/v1/slow", (req, ex) -> {
            Thread.sleep(3000);
            ex.json(200, "{}");
        });
        client.setTimeoutMillis(200);
        assertThatThrownBy(() -> client.get("/v1/slow")).isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    void unreachable() {
        Path missing = server.dir.resolve("nope.sock");
        try (ApiClient c = ApiClient.unixSocket(missing)) {
            assertThatThrownBy(() -> c.get("/v1/vms")).isInstanceOf(DaemonUnreachableException.class)
                    .hasMessage("cannot reach jvirtd at " + missing + ": is it running?");
        }
    }
}
