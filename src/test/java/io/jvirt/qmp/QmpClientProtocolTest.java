package io.jvirt.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Protocol corner cases real QEMU can't be made to produce on demand, played by a scripted peer:
 * answers without an id, malformed JSON, a missing greeting, events without data.
 */
class QmpClientProtocolTest {

    private static final String GREETING =
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": []}}";

    private Path dir;
    private ServerSocketChannel server;
    private SocketChannel peer;
    private BufferedReader fromClient;
    private OutputStream toClient;

    @BeforeEach
    void listen() throws IOException {
        dir = Files.createTempDirectory("qmp-test-");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(dir.resolve("fake.sock")));
    }

    @AfterEach
    void cleanUp() throws IOException {
        if (peer != null) {
            peer.close();
        }
        server.close();
        Files.deleteIfExists(dir.resolve("fake.sock"));
        Files.deleteIfExists(dir);
    }

    @Test
    void answerWithoutIdIsIgnored() throws Exception {
        try (QmpClient client = connect()) {
            CompletableFuture<JsonNode> answer = client.submit("anything", null);
            JsonNode request = receive();
            send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'foo' is unexpected\"}}");
            send("{\"return\": {\"ok\": true}, \"id\": " + request.get("id") + "}");

            assertThat(answer.get(5, TimeUnit.SECONDS).path("ok").asBoolean()).isTrue();
            assertThat(client.isOpen()).isTrue();
        }
    }

    @Test
    void answersAreMatchedByIdInAnyOrder() throws Exception {
        try (QmpClient client = connect()) {
            CompletableFuture<JsonNode> first = client.submit("first", null);
            CompletableFuture<JsonNode> second = client.submit("second", QmpArgs.of("n", 2));
            JsonNode firstRequest = receive();
            JsonNode secondRequest = receive();
            assertThat(secondRequest.path("arguments").path("n").asInt()).isEqualTo(2);
            assertThat(firstRequest.has("arguments")).isFalse();

            send("{\"return\": \"b\", \"id\": " + secondRequest.get("id") + "}");
            send("{\"return\": \"a\", \"id\": " + firstRequest.get("id") + "}");

            assertThat(first.get(5, TimeUnit.SECONDS).asText()).isEqualTo("a");
            assertThat(second.get(5, TimeUnit.SECONDS).asText()).isEqualTo("b");
        }
    }

    @Test
    void everyRequestHasItsOwnId() throws Exception {
        try (QmpClient client = connect()) {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 100; i++) {
                client.submit("cmd", null);
                ids.add(receive().get("id").toString());
            }
            assertThat(ids).hasSize(100);
        }
    }

    @Test
    void malformedInputClosesTheConnection() throws Exception {
        try (QmpClient client = connect()) {
            CompletableFuture<JsonNode> answer = client.submit("anything", null);
            receive();
            send("{\"return\": {}, \"id\": ");

            assertThatThrownBy(() -> answer.get(5, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(QmpConnectionClosedException.class)
                    .hasCauseInstanceOf(QmpProtocolException.class);
            assertThat(client.closed().get(5, TimeUnit.SECONDS)).hasMessageContaining("invalid input");
            assertThat(client.isOpen()).isFalse();
        }
    }

    @Test
    void eventWithoutDataGetsAnEmptyObject() throws Exception {
        try (QmpClient client = connect()) {
            BlockingQueue<QmpEvent> events = new LinkedBlockingQueue<>();
            client.onEvent(events::add);
            send("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 250}, \"event\": \"RESUME\"}");

            QmpEvent event = events.poll(5, TimeUnit.SECONDS);
            assertThat(event).isNotNull();
            assertThat(event.name()).isEqualTo("RESUME");
            assertThat(event.data().isObject()).isTrue();
            assertThat(event.data().isEmpty()).isTrue();
            assertThat(event.timestamp()).isEqualTo(Instant.ofEpochSecond(1700000000, 250_000));
        }
    }

    @Test
    void missingGreetingFailsConnect() throws Exception {
        CompletableFuture<Void> peerScript = CompletableFuture.runAsync(() -> {
            try {
                accept();
                send("{\"return\": {}}");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertThatThrownBy(() -> QmpClient.connect(dir.resolve("fake.sock"), Duration.ofSeconds(5)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("greeting");
        peerScript.get(5, TimeUnit.SECONDS);
    }

    /** Connects a client while playing QEMU's side of the handshake. */
    private QmpClient connect() throws Exception {
        CompletableFuture<Void> handshake = CompletableFuture.runAsync(() -> {
            try {
                accept();
                send(GREETING);
                JsonNode capabilities = receive();
                assertThat(capabilities.path("execute").asText()).isEqualTo("qmp_capabilities");
                send("{\"return\": {}, \"id\": " + capabilities.get("id") + "}");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        QmpClient client = QmpClient.connect(dir.resolve("fake.sock"), Duration.ofSeconds(5));
        handshake.get(5, TimeUnit.SECONDS);
        return client;
    }

    private void accept() throws IOException {
        peer = server.accept();
        fromClient = new BufferedReader(new InputStreamReader(Channels.newInputStream(peer), StandardCharsets.UTF_8));
        toClient = Channels.newOutputStream(peer);
    }

    private void send(String line) throws IOException {
        toClient.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        toClient.flush();
    }

    private JsonNode receive() throws IOException {
        String line = fromClient.readLine();
        assertThat(line).as("request from client").isNotNull();
        return QmpJson.mapper().readTree(line);
    }
}
