package io.jvirt.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class QmpClientHandshakeTest {

    @Test
    void greetingAnnouncesVersionAndCapabilities() throws Exception {
        try (BareQemu qemu = BareQemu.start(); QmpClient client = qemu.connect()) {
            QmpGreeting greeting = client.greeting();

            assertThat(greeting.version().major()).isGreaterThanOrEqualTo(7);
            assertThat(greeting.capabilities()).contains("oob");
            assertThat(greeting.hasCapability("oob")).isTrue();
            // The greeting and query-version must describe the same QEMU.
            var version = client.execute("query-version");
            assertThat(version.at("/qemu/major").asInt()).isEqualTo(greeting.version().major());
            assertThat(version.at("/qemu/minor").asInt()).isEqualTo(greeting.version().minor());
            assertThat(version.at("/qemu/micro").asInt()).isEqualTo(greeting.version().micro());
            assertThat(version.path("package").asText()).isEqualTo(greeting.version().packageName());
            assertThat(client.isOpen()).isTrue();
        }
    }

    @Test
    void outOfBandIsEnabledWhenOfferedAndSendsExecOob() throws Exception {
        try (BareQemu qemu = BareQemu.start(); QmpClient client = qemu.connect()) {
            assertThat(client.outOfBand()).as("QEMU offered oob: the client enabled it").isTrue();
            // QEMU itself tells an exec-oob from an execute: a command without allow-oob is refused out of band
            assertThatThrownBy(() -> client.executeOutOfBand("query-status", null, Duration.ofSeconds(10)))
                    .isInstanceOf(QmpErrorException.class).hasMessageContaining("does not support OOB");
            // an allow-oob command runs (and fails as it must on a QEMU with no post-copy under way)
            assertThatThrownBy(() -> client.executeOutOfBand("migrate-pause", null, Duration.ofSeconds(10)))
                    .isInstanceOf(QmpErrorException.class).hasMessageContaining("postcopy");
            // in-band commands go on answering, matched by id
            assertThat(client.execute("query-status").path("status").asText()).isNotEmpty();
        }
    }

    @Test
    void connectWaitsForTheSocketToAppear() throws Exception {
        try (BareQemu qemu = BareQemu.prepare()) {
            CompletableFuture<QmpClient> connecting = CompletableFuture.supplyAsync(() -> {
                try {
                    return QmpClient.connect(qemu.socket(), Duration.ofSeconds(10));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(300);
            assertThat(connecting).isNotDone();

            qemu.launch();

            try (QmpClient client = connecting.get(10, TimeUnit.SECONDS)) {
                assertThat(client.execute("query-status").path("status").asText()).isEqualTo("running");
            }
        }
    }

    @Test
    void connectGivesUpAfterTheTimeout() throws Exception {
        Path dir = Files.createTempDirectory("qmp-test-");
        try {
            long start = System.nanoTime();
            assertThatThrownBy(() -> QmpClient.connect(dir.resolve("missing.sock"), Duration.ofMillis(300)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("missing.sock");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(300), Duration.ofSeconds(3));
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void secondClientGetsNoGreetingWhileTheMonitorIsBusy() throws Exception {
        try (BareQemu qemu = BareQemu.start(); QmpClient first = qemu.connect()) {
            // QEMU serves one client per QMP socket; the kernel still accepts the second connection.
            assertThatThrownBy(() -> QmpClient.connect(qemu.socket(), Duration.ofMillis(200)))
                    .isInstanceOf(SocketTimeoutException.class);
            assertThat(first.execute("query-status").has("status")).isTrue();
        }
    }

    @Test
    void argsBuildsObjectsAndOmitsNulls() {
        var args = QmpClient.args("device", "vda", "speed", 0, "optional", null, "flag", true);

        assertThat(args.toString()).isEqualTo("{\"device\":\"vda\",\"speed\":0,\"flag\":true}");
        assertThatThrownBy(() -> QmpArgs.of("odd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> QmpArgs.of(1, "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
