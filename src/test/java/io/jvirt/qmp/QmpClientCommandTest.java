package io.jvirt.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class QmpClientCommandTest {

    /** Options whose query answer names the option asked for, so a mismatched answer is detectable. */
    private static final List<String> OPTIONS = List.of("machine", "drive", "netdev", "chardev", "smp-opts", "memory", "rtc");

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
    void returnsTheReturnValue() {
        JsonNode status = client.execute("query-status");

        assertThat(status.path("status").asText()).isEqualTo("running");
        assertThat(status.path("running").asBoolean()).isTrue();
    }

    @Test
    void unknownCommandIsCommandNotFound() {
        assertThatThrownBy(() -> client.execute("no-such-command"))
                .isInstanceOfSatisfying(QmpErrorException.class, e -> {
                    assertThat(e.errorClass()).isEqualTo("CommandNotFound");
                    assertThat(e.description()).contains("no-such-command");
                    assertThat(e.command()).isEqualTo("no-such-command");
                });
        // An error answer leaves the connection usable.
        assertThat(client.execute("query-status").has("status")).isTrue();
    }

    @Test
    void badArgumentsAreGenericError() {
        assertThatThrownBy(() -> client.execute("query-status", QmpArgs.of("bogus", 1)))
                .isInstanceOfSatisfying(QmpErrorException.class, e -> {
                    assertThat(e.errorClass()).isEqualTo("GenericError");
                    assertThat(e.description()).contains("bogus");
                    assertThat(e.command()).isEqualTo("query-status");
                });
    }

    @Test
    void submittedErrorsFailTheFuture() {
        CompletableFuture<JsonNode> answer = client.submit("no-such-command", null);

        assertThatThrownBy(() -> answer.get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(QmpErrorException.class);
    }

    @Test
    void argumentsAreSent() {
        JsonNode answer = client.execute("query-command-line-options", QmpArgs.of("option", "drive"));

        assertThat(answer).hasSize(1);
        assertThat(answer.get(0).path("option").asText()).isEqualTo("drive");
    }

    @Test
    void manyThreadsGetTheirOwnAnswers() throws Exception {
        int threads = 50;
        int commandsPerThread = 20;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < commandsPerThread; i++) {
                        runAndCheck(thread + i);
                    }
                    return commandsPerThread;
                }));
            }
            go.countDown();
            int done = 0;
            for (Future<Integer> result : results) {
                done += result.get(60, TimeUnit.SECONDS);
            }
            assertThat(done).isEqualTo(threads * commandsPerThread);
        }
    }

    @Test
    void manyCommandsInFlightFromOneThread() {
        List<CompletableFuture<JsonNode>> answers = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            answers.add(client.submit("query-command-line-options", QmpArgs.of("option", OPTIONS.get(i % OPTIONS.size()))));
        }
        for (int i = 0; i < answers.size(); i++) {
            assertThat(answers.get(i).join().get(0).path("option").asText()).isEqualTo(OPTIONS.get(i % OPTIONS.size()));
        }
    }

    /** Each command's answer has a shape that only it produces, so a mix-up of ids would fail here. */
    private void runAndCheck(int n) {
        switch (n % 3) {
            case 0 -> assertThat(client.execute("query-status").path("status").asText()).isEqualTo("running");
            case 1 -> assertThat(client.execute("query-version").at("/qemu/major").asInt()).isGreaterThanOrEqualTo(7);
            default -> {
                String option = OPTIONS.get(n % OPTIONS.size());
                JsonNode answer = client.execute("query-command-line-options", QmpArgs.of("option", option));
                assertThat(answer.get(0).path("option").asText()).isEqualTo(option);
            }
        }
    }
}
