package io.jvirt.migration;

import static io.jvirt.migration.MigrationTest.awaitPhase;
import static io.jvirt.migration.MigrationTest.awaitSeqAbove;
import static io.jvirt.migration.MigrationTest.body;
import static io.jvirt.migration.MigrationTest.lastSeq;
import static io.jvirt.migration.MigrationTest.ok;
import static io.jvirt.migration.MigrationTest.waitOp;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.TestHttp;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Post-copy between two daemons in two network namespaces (TwoHosts), with the sequence-writing guest of
 * MigrationTest on a shared disk: a post-copy after the first pass, a throttled pre-copy switched by
 * {@code migrate/postcopy}, a post-copy whose link is cut (both sides pause, {@code --resume} completes it), and a
 * post-copy with copied storage (a VM of its own, B → A). One booted guest goes A → B → A → B.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationPostcopyTest {
    TwoHosts hosts;
    Path disk;

    @BeforeAll
    void start() throws Exception {
        hosts = TwoHosts.start();
        disk = hosts.bootWritingGuest("m");
    }

    @AfterAll
    void stop() {
        if (hosts != null) {
            hosts.close();
        }
    }

    @Test
    @Order(1)
    void postcopyAfterTheFirstPassCompletesAndTheGuestGoesOnThere() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        long before = lastSeq(a);
        // 8 MiB/s makes the first pass take seconds; a 1 ms downtime limit keeps pre-copy from finishing first
        ObjectNode req = body(TwoHosts.toB()).put("postcopy", true).put("bandwidthMiB", 8).put("maxDowntimeMs", 1);
        JsonNode op = waitOp(a, a.post("/v1/vms/m/migration", req));
        assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs()).isEqualTo("success");
        assertThat(hosts.logs()).as("it switched to post-copy").contains("postcopy-active at");
        assertRunsOnlyOn(true);
        awaitSeqAbove(b, before + 3);
    }

    @Test
    @Order(2)
    void migratePostcopySwitchesAThrottledPrecopy() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        long before = lastSeq(b);
        TestHttp.Response started = b.post("/v1/vms/m/migration", body(TwoHosts.toA()).put("postcopyAfterPrecopy", true)
                .put("bandwidthMiB", 6));
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        awaitPhase(b, started, "active");
        TestHttp.Response sw = b.post("/v1/vms/m/migration/postcopy");
        assertThat(sw.status()).as(sw.toString()).isEqualTo(200);
        awaitPhase(b, started, "postcopy-running-there");
        TestHttp.Response cancel = b.post("/v1/vms/m/migration/cancel");
        assertThat(cancel.errorCode()).as("no cancel in post-copy: " + cancel).isEqualTo("invalid-state");
        JsonNode op = waitOp(b, started);
        assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs()).isEqualTo("success");
        assertRunsOnlyOn(false);
        awaitSeqAbove(a, before + 3);
    }

    @Test
    @Order(3)
    void linkCutDuringPostcopyPausesBothSidesAndResumeCompletes() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        TestHttp.Response started = a.post("/v1/vms/m/migration", body(TwoHosts.toB()).put("postcopyAfterPrecopy", true)
                .put("bandwidthMiB", 4));
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        awaitPhase(a, started, "active");
        assertThat(a.post("/v1/vms/m/migration/postcopy").status()).isEqualTo(200);
        awaitPhase(a, started, "postcopy-running-there");
        TestHttp.Response early = a.post("/v1/vms/m/migration/resume");
        assertThat(early.errorCode()).as("nothing to resume yet: " + early).isEqualTo("invalid-state");
        hosts.link(false);
        try {
            awaitPhase(a, started, "postcopy-paused");
            awaitLog("incoming migration " + started.json().path("id").asText() + ": VM m: post-copy paused");
            JsonNode op = a.get("/v1/operations/" + started.json().path("id").asText()).json();
            assertThat(op.path("status").asText()).as("paused, neither failed nor cancelled: " + op).isEqualTo("running");
            assertThat(a.get("/v1/vms/m/migration").json().path("phase").asText()).isEqualTo("postcopy-paused");
        } finally {
            hosts.link(true);
        }
        var r = io.jvirt.cli.CliRun.run(hosts.a, "migrate", "--resume", "m");
        assertThat(r.exit()).as(r + "\n" + hosts.logs()).isZero();
        assertThat(r.out()).contains("Migrated m to " + TwoHosts.toB());
        assertThat(waitOp(a, started).path("status").asText()).isEqualTo("success");
        assertRunsOnlyOn(true);
        long seq = lastSeq(b);
        awaitSeqAbove(b, seq);
        ok(b.post("/v1/vms/m/destroy"));
        long last = lastSeq(b);
        long onDisk = Long.parseLong(io.jvirt.blockcopy.CopyGuestAccess.sector0(disk, "qcow2"));
        assertThat(onDisk).as("the shared disk holds every acknowledged write").isGreaterThanOrEqualTo(last);
    }

    @Test
    @Order(4)
    void postcopyWithCopiedStorageEndsTheMirrorsBeforeTheSwitch() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        // a VM of its own, booted on B, so this case does not depend on where the others left m
        Path own = io.jvirt.testing.TestGuest.newDisk(hosts.dir.resolve("s.qcow2"), "qcow2", "64M");
        ObjectNode d = io.jvirt.testing.TestGuest.definition("s");
        d.putArray("disks").addObject().put("name", "vda").put("path", own.toString()).put("format", "qcow2");
        assertThat(b.post("/v1/vms", d).status()).as("define on B").isEqualTo(201);
        ok(b.post("/v1/vms/s/start?wait=true"));
        try (io.jvirt.testing.ConsoleReader console = io.jvirt.testing.GuestConsole.ready(b, "s")) {
            io.jvirt.testing.GuestConsole.type(b, "s", "seqwriter /dev/vda &");
            console.await("SEQ 3", 0, io.jvirt.testing.GuestConsole.TIMEOUT);
        }
        ObjectNode req = body(TwoHosts.toA()).put("copyStorage", "all").put("postcopy", true).put("bandwidthMiB", 8)
                .put("maxDowntimeMs", 1);
        JsonNode op = waitOp(b, b.post("/v1/vms/s/migration", req));
        assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs()).isEqualTo("success");
        // QEMU paused before the switch into post-copy: the mirrors ended there, then post-copy
        assertThat(hosts.logs()).as("mirrors ended at pre-switchover, then post-copy").contains("of s: postcopy-switchover at")
                .contains("of s: postcopy-active at");
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (b.get("/v1/vms/s").status() != 404) {
            assertThat(System.nanoTime()).as("B has no VM s left").isLessThan(deadline);
            Thread.sleep(100);
        }
        JsonNode on = a.get("/v1/vms/s").json();
        assertThat(on.path("state").asText()).as(on.toString()).isEqualTo("running");
        String copy = on.path("definition").path("disks").get(0).path("path").asText();
        assertThat(copy).as("the disk was copied into A's pool").isNotEqualTo(own.toString());
        long seq = MigrationTest.lastSeqOf(a, "s");
        MigrationTest.awaitSeqAbove(a, "s", seq);
        ok(a.post("/v1/vms/s/destroy"));
        long last = MigrationTest.lastSeqOf(a, "s");
        long onDisk = Long.parseLong(io.jvirt.blockcopy.CopyGuestAccess.sector0(Path.of(copy), "qcow2"));
        assertThat(onDisk).as("A's copy holds every acknowledged write").isGreaterThanOrEqualTo(last);
        a.send("DELETE", "/v1/vms/s", null, null);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /** The VM runs on {@code there} (no job left), and {@code here} has neither the VM nor a QEMU. */
    void assertRunsOnlyOn(boolean onB) throws InterruptedException {
        TestHttp there = onB ? hosts.apiB() : hosts.apiA();
        TestHttp here = onB ? hosts.apiA() : hosts.apiB();
        var daemon = onB ? hosts.a : hosts.b;
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (here.get("/v1/vms/m").status() != 404 || !daemon.qemuPids().isEmpty()) {
            assertThat(System.nanoTime()).as("the source has no VM and no QEMU left").isLessThan(deadline);
            Thread.sleep(100);
        }
        JsonNode on = there.get("/v1/vms/m").json();
        assertThat(on.path("state").asText()).as(on.toString()).isEqualTo("running");
    }

    void awaitLog(String text) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!hosts.logs().contains(text)) {
            assertThat(System.nanoTime()).as("log has: " + text + "\n" + hosts.logs()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
