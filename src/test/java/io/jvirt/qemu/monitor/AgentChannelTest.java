package io.jvirt.qemu.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent protocol against a scripted agent on a Unix socket: garbage and stale answers before a sync are
 * skipped, a reply over the limit is dropped (and the channel resyncs), a silent agent times the call out and
 * closes the channel, an error reply is the agent's own words.
 */
class AgentChannelTest {
    static final ObjectMapper JSON = new ObjectMapper();
    Path dir;
    ServerSocketChannel server;
    Thread agent;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("qga-test-");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(dir.resolve("qga.sock")));
        agent = Thread.ofVirtual().start(this::serve);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        agent.join(2000);
        Files.deleteIfExists(dir.resolve("qga.sock"));
        Files.deleteIfExists(dir);
    }

    /** A scripted agent: garbage before every sync answer, odd answers to some commands. */
    private void serve() {
        while (server.isOpen()) {
            try (SocketChannel ch = server.accept()) {
                OutputStream out = Channels.newOutputStream(ch);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.ISO_8859_1));
                for (String line; (line = in.readLine()) != null; ) {
                    int brace = line.indexOf('{');
                    if (brace < 0) {
                        continue;
                    }
                    JsonNode req = JSON.readTree(line.substring(brace));
                    String cmd = req.path("execute").asText();
                    switch (cmd) {
                        case "guest-sync-delimited" -> {
                            out.write("garbage \u0001\u0002\n{\"return\": 1}\n".getBytes(StandardCharsets.ISO_8859_1));
                            out.write(0xFF);
                            out.write("{\"return\": 999}\n".getBytes(StandardCharsets.UTF_8)); // a stale sync's answer
                            out.write(0xFF);
                            out.write(("{\"return\": " + req.path("arguments").path("id").asLong() + "}\n").getBytes(StandardCharsets.UTF_8));
                        }
                        case "guest-ping" -> out.write("{\"return\": {}}\n".getBytes(StandardCharsets.UTF_8));
                        case "guest-get-host-name" -> {
                            ByteArrayOutputStream big = new ByteArrayOutputStream();
                            big.write("{\"return\": {\"host-name\": \"".getBytes(StandardCharsets.UTF_8));
                            big.write("x".repeat(3 << 20).getBytes(StandardCharsets.UTF_8));
                            big.write("\"}}\n".getBytes(StandardCharsets.UTF_8));
                            out.write(big.toByteArray());
                        }
                        case "guest-get-time" -> out.write("not json at all\n".getBytes(StandardCharsets.UTF_8));
                        case "guest-get-osinfo" -> out.write("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no os here\"}}\n"
                                .getBytes(StandardCharsets.UTF_8));
                        default -> { } // guest-info: never answered
                    }
                    out.flush();
                }
            } catch (IOException e) {
                // closed by the test or by the client
            }
        }
    }

    @Test
    void syncSkipsGarbageAndStaleAnswers() {
        try (GuestAgent a = GuestAgent.connect(dir.resolve("qga.sock"), Duration.ofSeconds(5))) {
            a.ping(Duration.ofSeconds(5));
            a.ping(Duration.ofSeconds(5));
        }
    }

    @Test
    void aReplyOverTheLimitIsDroppedAndTheNextCallWorks() {
        try (GuestAgent a = GuestAgent.connect(dir.resolve("qga.sock"), Duration.ofSeconds(5))) {
            assertThatThrownBy(() -> a.hostName(Duration.ofSeconds(5))).isInstanceOfSatisfying(GuestAgentException.class,
                    e -> assertThat(e.kind()).isEqualTo(GuestAgentException.Kind.PROTOCOL)).hasMessageContaining("larger than");
            assertThatThrownBy(() -> a.time(Duration.ofSeconds(5))).isInstanceOfSatisfying(GuestAgentException.class,
                    e -> assertThat(e.kind()).isEqualTo(GuestAgentException.Kind.PROTOCOL));
            a.ping(Duration.ofSeconds(5)); // resynced: the answer is this call's
            assertThatThrownBy(() -> a.osInfo(Duration.ofSeconds(5))).isInstanceOfSatisfying(GuestAgentException.class,
                    e -> assertThat(e.kind()).isEqualTo(GuestAgentException.Kind.ERROR)).hasMessageContaining("no os here");
            a.ping(Duration.ofSeconds(5));
        }
    }

    @Test
    void aSilentAgentTimesTheCallOutAndClosesTheChannel() {
        try (GuestAgent a = GuestAgent.connect(dir.resolve("qga.sock"), Duration.ofSeconds(5))) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> a.info(Duration.ofMillis(300))).isInstanceOfSatisfying(GuestAgentException.class,
                    e -> assertThat(e.kind()).isEqualTo(GuestAgentException.Kind.TIMEOUT)).hasMessageContaining("within 0.3 s");
            assertThat((System.nanoTime() - t0) / 1e6).isBetween(250.0, 2000.0);
            assertThat(a.isOpen()).isFalse();
        }
        try (GuestAgent again = GuestAgent.connect(dir.resolve("qga.sock"), Duration.ofSeconds(5))) {
            again.ping(Duration.ofSeconds(5));
        }
    }
}
