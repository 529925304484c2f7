package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A daemon restarted (kill -9) over a state directory with bad documents, or with a VM whose QEMU does not answer:
 * it starts, adopts the other VMs, quarantines and reports the bad documents, and serves the API for every VM but
 * the one still being reconciled, which answers vm-busy "recovery" until it is done.
 */
class RestartRobustnessTest {
    DaemonProcess daemon;

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    private static long pidOf(TestHttp api, String vm) {
        return api.get("/v1/vms/" + vm).json().path("runtime").path("pid").asLong();
    }

    @Test
    void corruptAndUnknownFieldDocumentsAreQuarantinedAndTheOtherVmsAdopted() throws Exception {
        daemon = DaemonProcess.startNew();
        TestHttp api = daemon.http();
        for (String vm : List.of("keeper", "lost-state", "corrupt", "unknown-field")) {
            assertThat(api.post("/v1/vms", TestGuest.definition(vm)).status()).isEqualTo(201);
        }
        for (String vm : List.of("keeper", "lost-state")) {
            assertThat(api.post("/v1/vms/" + vm + "/start?wait=true").status()).isEqualTo(200);
        }
        long keeper = pidOf(api, "keeper");
        long lostState = pidOf(api, "lost-state");
        daemon.kill9();

        Path owners = daemon.stateDir().resolve("owners");
        Files.writeString(owners.resolve("corrupt/definition.json"), "{\"name\": \"corrupt\", \"memoryMiB\": 12");
        Path unknown = owners.resolve("unknown-field/definition.json");
        Files.writeString(unknown, Files.readString(unknown).replaceFirst("\\{", "{\"fromTheFuture\": true,"));
        Files.writeString(owners.resolve("lost-state/state.json"), "\u0000\u0000garbage");

        daemon.restart();
        api = daemon.http();
        List<String> names = new ArrayList<>();
        api.get("/v1/vms").json().forEach(v -> names.add(v.path("name").asText()));
        assertThat(names).containsExactly("keeper", "lost-state");
        assertThat(api.get("/v1/vms/keeper").json().path("state").asText()).isEqualTo("running");
        assertThat(pidOf(api, "keeper")).as("adopted, not restarted").isEqualTo(keeper);
        // its state record was lost: rebuilt from the run directory's pid file, and the QEMU adopted
        assertThat(api.get("/v1/vms/lost-state").json().path("state").asText()).isEqualTo("running");
        assertThat(pidOf(api, "lost-state")).isEqualTo(lostState);

        JsonNode store = api.get("/v1/host").json().path("store").path("vms");
        List<String> reasons = new ArrayList<>();
        store.path("quarantined").forEach(q -> reasons.add(q.path("owner").asText() + ": " + q.path("reason").asText()));
        assertThat(reasons).hasSize(3);
        assertThat(reasons).anySatisfy(r -> assertThat(r).startsWith("corrupt: unreadable"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).startsWith("unknown-field: does not fit").contains("fromTheFuture"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).startsWith("lost-state: unreadable"));
        assertThat(daemon.stateDir().resolve("quarantine/corrupt")).isDirectoryContaining("glob:**/definition-*.json");
        assertThat(Files.exists(owners.resolve("corrupt/definition.json"))).isFalse();
        assertThat(Files.readString(daemon.log())).contains("definition quarantined");

        try (TestHttp.Stream s = new TestHttp(daemon.runDir().resolve("jvirtd-admin.sock"))
                .open("GET", "/v1/admin/daemon", null, null)) {
            JsonNode info = io.jvirt.api.Json.mapper().readTree(s.body.readAllBytes());
            assertThat(info.path("quarantined").asInt()).isEqualTo(3);
        }
        // the names are free again, and a VM of the quarantined name can be defined anew
        assertThat(api.post("/v1/vms", TestGuest.definition("corrupt")).status()).isEqualTo(201);
        assertThat(api.post("/v1/vms/keeper/destroy").status()).isEqualTo(200);
        assertThat(api.post("/v1/vms/lost-state/destroy").status()).isEqualTo(200);
    }

    @Test
    void aVmWhoseQemuIsStoppedIsBusyWithRecoveryWhileTheOthersWork() throws Exception {
        daemon = DaemonProcess.startNew();
        TestHttp api = daemon.http();
        for (String vm : List.of("stuck", "fine")) {
            assertThat(api.post("/v1/vms", TestGuest.definition(vm)).status()).isEqualTo(201);
            assertThat(api.post("/v1/vms/" + vm + "/start?wait=true").status()).isEqualTo(200);
        }
        long stuck = pidOf(api, "stuck");
        long fine = pidOf(api, "fine");
        daemon.kill9();
        signal("STOP", stuck);
        try {
            daemon.awaitRecovery = false;
            long t0 = System.nanoTime();
            daemon.restart();
            long readyMs = (System.nanoTime() - t0) / 1_000_000;
            api = daemon.http();
            TestHttp.Response busy = api.post("/v1/vms/stuck/suspend");
            assertThat(busy.status()).isEqualTo(409);
            assertThat(busy.errorCode()).isEqualTo("vm-busy");
            assertThat(busy.json().path("error").path("details").path("job").asText()).isEqualTo("recovery");
            assertThat(api.get("/v1/vms/stuck").status()).as("reads answer").isEqualTo(200);
            assertThat(api.get("/v1/vms/stuck").json().path("job").path("name").asText()).isEqualTo("recovery");
            // the other VM is adopted and controllable meanwhile
            assertThat(pidOf(api, "fine")).isEqualTo(fine);
            assertThat(api.post("/v1/vms/fine/suspend").json().path("state").asText()).isEqualTo("paused");
            assertThat(api.post("/v1/vms/fine/resume").json().path("state").asText()).isEqualTo("running");
            assertThat(readyMs).as("ready while a VM is stuck").isLessThan(8000);
        } finally {
            signal("CONT", stuck);
        }
        // once QEMU answers again, its reconciliation finishes and the slot is free
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!api.get("/v1/vms/stuck").json().path("job").isMissingNode()
                && !api.get("/v1/vms/stuck").json().path("job").isNull()) {
            assertThat(System.nanoTime()).as("recovery of the stopped VM ends").isLessThan(deadline);
            Thread.sleep(50);
        }
        assertThat(api.get("/v1/vms/stuck").json().path("state").asText()).isEqualTo("running");
        assertThat(pidOf(api, "stuck")).isEqualTo(stuck);
        assertThat(api.post("/v1/vms/stuck/destroy").status()).isEqualTo(200);
        assertThat(api.post("/v1/vms/fine/destroy").status()).isEqualTo(200);
    }

    @Test
    void aStateWriteThatFailsAtQemuExitLeavesMemoryTruthfulAndIsReported() throws Exception {
        Path full = Files.createTempFile("jvirt-disk-full-", ".flag");
        Files.delete(full);
        try {
            daemon = new DaemonProcess(Files.createTempDirectory("jvirt-test-"));
            daemon.env.put("JVIRT_FAULT", "store:fail-write:" + full);
            daemon.start();
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", TestGuest.definition("victim")).status()).isEqualTo(201);
            assertThat(api.post("/v1/vms/victim/start?wait=true").status()).isEqualTo(200);
            long pid = pidOf(api, "victim");
            Files.createFile(full); // the disk is full from now on
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!api.get("/v1/vms/victim").json().path("state").asText().equals("crashed")) {
                assertThat(System.nanoTime()).as("the crash is shown although it was not written").isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(api.get("/v1/vms/victim").json().path("runtime").isMissingNode()
                    || api.get("/v1/vms/victim").json().path("runtime").isNull()).as("no QEMU shown").isTrue();
            JsonNode store = api.get("/v1/host").json().path("store").path("vms");
            assertThat(store.path("failedWrites").asLong()).isPositive();
            assertThat(store.path("lastFailure").path("owner").asText()).isEqualTo("victim");
            assertThat(store.path("lastFailure").path("error").asText()).contains("No space left");
            assertThat(Files.readString(daemon.stateDir().resolve("owners/victim/state.json"))).contains("running");

            // the record on disk still says running with a pid that is gone: a restarted daemon sees through it
            Files.delete(full);
            daemon.kill9();
            daemon.restart();
            api = daemon.http();
            assertThat(api.get("/v1/vms/victim").json().path("state").asText()).isEqualTo("crashed");
            assertThat(api.get("/v1/vms/victim").json().path("reason").asText()).contains("while jvirtd was down");
        } finally {
            Files.deleteIfExists(full);
        }
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        assertThat(p.waitFor()).isZero();
    }
}
