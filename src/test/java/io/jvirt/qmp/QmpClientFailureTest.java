package io.jvirt.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Timeouts and the end of the connection, provoked by pausing (SIGSTOP) and killing (SIGKILL) QEMU. */
class QmpClientFailureTest {

    private BareQemu qemu;
    private QmpClient client;

    @BeforeEach
    void start() throws Exception {
        qemu = BareQemu.start();
        client = qemu.connect();
    }

    @AfterEach
    void stop() {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            qemu.close();
        }
    }

    @Test
    void unansweredCommandTimesOutAndItsLateAnswerIsIgnored() {
        qemu.pause();
        try {
            assertThatThrownBy(() -> client.execute("query-status", null, Duration.ofMillis(300)))
                    .isInstanceOfSatisfying(QmpTimeoutException.class, e -> {
                        assertThat(e.command()).isEqualTo("query-status");
                        assertThat(e.timeout()).isEqualTo(Duration.ofMillis(300));
                    });
        } finally {
            qemu.resume();
        }
        // The late query-status answer arrives first now; it must not be taken for this one.
        JsonNode version = client.execute("query-version");
        assertThat(version.has("qemu")).isTrue();
        assertThat(client.isOpen()).isTrue();
    }

    /**
     * A 1 ns timeout races the answer: the client returns an answer that has already arrived rather than
     * discarding it, so either outcome is legal. What must hold is that every late answer is dropped and
     * never handed to a later command.
     */
    @Test
    void tinyTimeoutsNeverMixUpAnswers() {
        int timeouts = 0;
        for (int i = 0; i < 200; i++) {
            try {
                assertThat(client.execute("query-status", null, Duration.ofNanos(1)).has("status")).isTrue();
            } catch (QmpTimeoutException e) {
                timeouts++;
            }
            assertThat(client.execute("query-version").has("qemu")).isTrue();
        }
        assertThat(timeouts).isPositive();
    }

    @Test
    void killedQemuFailsPendingCommandsAndCompletesClosed() throws Exception {
        qemu.pause(); // keeps the command below pending
        CompletableFuture<JsonNode> pending = client.submit("query-status", null);
        Thread.sleep(100);
        assertThat(pending).isNotDone();

        long killedAt = System.nanoTime();
        qemu.kill();

        assertThatThrownBy(() -> pending.get(1, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(QmpConnectionClosedException.class);
        QmpConnectionClosedException reason = client.closed().get(1, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(1));
        assertThat(reason).hasMessageContaining("QEMU closed the monitor connection");
        assertThat(client.isOpen()).isFalse();

        long start = System.nanoTime();
        assertThatThrownBy(() -> client.execute("query-status"))
                .isInstanceOf(QmpConnectionClosedException.class)
                .hasMessage(reason.getMessage());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(200));
    }

    @Test
    void closeFailsPendingCommandsAndIsIdempotent() throws Exception {
        qemu.pause();
        try {
            CompletableFuture<JsonNode> pending = client.submit("query-status", null);

            client.close();
            client.close();

            assertThatThrownBy(() -> pending.get(1, TimeUnit.SECONDS))
                    .cause().isInstanceOf(QmpConnectionClosedException.class).hasMessageContaining("was closed");
            assertThat(client.closed().get(1, TimeUnit.SECONDS)).hasMessageContaining("was closed");
            assertThat(client.isOpen()).isFalse();
            assertThatThrownBy(() -> client.submit("query-status", null).join())
                    .cause().isInstanceOf(QmpConnectionClosedException.class);
        } finally {
            qemu.resume();
        }
    }

    @Test
    void monitorAcceptsANewClientAfterTheOldOneCloses() throws Exception {
        client.close();
        try (QmpClient second = qemu.connect()) {
            assertThat(second.execute("query-status").has("status")).isTrue();
        }
    }
}
