package io.jvirt.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
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
 * Live migration between two daemons in two network namespaces (TwoHosts), over mutual TLS, with a guest that
 * writes a sequence number to its disk and prints it: across each switch the guest keeps printing, and the disk on
 * the running side holds the last number it acknowledged. One booted guest is shared by the cases, in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration T = GuestConsole.TIMEOUT;
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
    void badInputIsRefusedAndChangesNothing() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        TestHttp.Response r = a.post("/v1/vms/m/migration", body("http://" + TwoHosts.B_ADDRESS));
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        r = a.post("/v1/vms/m/migration", body("tls://" + TwoHosts.B_ADDRESS + ":1"));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("peer-unreachable");
        r = a.post("/v1/vms/nope/migration", body(TwoHosts.toB()));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("vm-not-found");

        // a VM of the same name on the destination: Prepare refuses, the guest runs on here
        ObjectNode clash = TestGuest.definition("m");
        assertThat(b.post("/v1/vms", clash).status()).isEqualTo(201);
        JsonNode op = waitOp(a, a.post("/v1/vms/m/migration", body(TwoHosts.toB())));
        assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("failure");
        assertThat(op.path("error").path("code").asText()).isEqualTo("vm-exists");
        assertThat(op.path("error").path("message").asText()).contains("already defined on this host");
        assertThat(b.get("/v1/vms/m").json().path("state").asText()).isEqualTo("shutoff");
        assertThat(b.post("/v1/vms/m/start").status()).isLessThan(300).as("the clash VM is untouched and usable");
        b.post("/v1/vms/m/destroy");
        assertThat(b.send("DELETE", "/v1/vms/m", null, null).status()).isLessThan(300);
        assertRunsOnlyOnA();

        // --copy-storage-inc of a disk without a backing file: nothing to keep below the top
        ObjectNode inc = body(TwoHosts.toB());
        inc.put("copyStorage", "inc");
        r = a.post("/v1/vms/m/migration", inc);
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("invalid-argument");
        assertThat(r.json().path("error").path("message").asText()).contains("no backing file");

        // a paused VM is refused (jvirt migrates running VMs only)
        ok(a.post("/v1/vms/m/suspend"));
        r = a.post("/v1/vms/m/migration", body(TwoHosts.toB()));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("invalid-state");
        assertThat(r.json().path("error").path("message").asText()).contains("paused");
        ok(a.post("/v1/vms/m/resume"));

        // a destination whose certificate is another CA's, or a jvirt client's (no role host): not a peer
        assertThat(a.post("/v1/vms/m/migration", body("tls://" + TwoHosts.B_ADDRESS + ":" + hosts.foreignPort())).errorCode())
                .isEqualTo("peer-unreachable");
        r = a.post("/v1/vms/m/migration", body("tls://" + TwoHosts.B_ADDRESS + ":" + hosts.clientCertPort()));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("peer-unreachable");
        // the JDK already refuses a client certificate as a server's (extended key usage); the role check is behind it
        assertThat(r.json().path("error").path("message").asText()).containsAnyOf("role 'host'", "key usage");
        assertRunsOnlyOnA();

        // the peer routes answer jvirtd hosts only: not the local socket
        r = b.post("/v1/peer/migrations", JSON.createObjectNode());
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("forbidden");
    }

    @Test
    @Order(2)
    void secondMigrationIsBusyAndCancelLeavesTheGuestHere() throws Exception {
        TestHttp a = hosts.apiA();
        ObjectNode slow = body(TwoHosts.toB());
        slow.put("bandwidthMiB", 1);
        TestHttp.Response first = a.post("/v1/vms/m/migration", slow);
        assertThat(first.status()).as(first.toString()).isEqualTo(202);
        awaitPhase(a, first, "active");
        TestHttp.Response second = a.post("/v1/vms/m/migration", body(TwoHosts.toB()));
        assertThat(second.errorCode()).as(second.toString()).isEqualTo("vm-busy");
        assertThat(second.json().path("error").path("message").asText()).contains("migration");
        long t0 = System.nanoTime();
        assertThat(a.get("/v1/vms/m").status()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("info while migrating").isLessThan(Duration.ofSeconds(1));
        // other VMs are not held up: a second VM starts and answers while m migrates
        assertThat(a.post("/v1/vms", TestGuest.definition("other")).status()).isEqualTo(201);
        t0 = System.nanoTime();
        ok(a.post("/v1/vms/other/start?wait=true"));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("start of another VM while migrating").isLessThan(Duration.ofSeconds(20));
        assertThat(a.get("/v1/vms/other").json().path("state").asText()).isEqualTo("running");
        assertThat(a.get("/v1/vms/m/migration").json().path("id").asText()).isEqualTo(first.json().path("id").asText());
        ok(a.post("/v1/vms/other/destroy"));
        assertThat(a.send("DELETE", "/v1/vms/other", null, null).status()).isLessThan(300);
        TestHttp.Response cancel = a.post("/v1/vms/m/migration/cancel");
        assertThat(cancel.status()).as(cancel + "\n" + hosts.logs()).isEqualTo(200);
        JsonNode op = waitOp(a, first);
        assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("cancelled");
        assertRunsOnlyOnA();
    }

    @Test
    @Order(3)
    void linkCutDuringRamCopyIsCancelledWithinTheBound() throws Exception {
        TestHttp a = hosts.apiA();
        ObjectNode slow = body(TwoHosts.toB());
        slow.put("bandwidthMiB", 1);
        TestHttp.Response started = a.post("/v1/vms/m/migration", slow);
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        awaitPhase(a, started, "active");
        assertThat(hosts.b.qemuPids()).as("the destination QEMU waits").hasSize(1);
        long t0 = System.nanoTime();
        hosts.link(false);
        try {
            JsonNode op = waitOp(a, started);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("failure");
            assertThat(op.path("error").path("code").asText()).isEqualTo("peer-lost");
            assertThat(took).as("source cancelled within the 5 s bound (+ slack)").isLessThan(Duration.ofSeconds(8));
            awaitNoVmOnB(Duration.ofSeconds(8));
        } finally {
            hosts.link(true);
        }
        assertRunsOnlyOnA();
    }

    @Test
    @Order(3)
    void linkCutDuringStorageCopyIsCancelledWithinTheBoundAndLeavesNoImage() throws Exception {
        TestHttp a = hosts.apiA();
        // 8 MiB of data past the sequence sector, so the mirror has something to copy at 1 MiB/s
        try (ConsoleReader console = new ConsoleReader(a, "m")) {
            GuestConsole.type(a, "m", "dd if=/dev/urandom of=/dev/vda bs=1M count=8 seek=1 conv=fsync 2>/dev/null; echo FILLED-UP");
            console.await("FILLED-UP", 0, T);
        }
        ObjectNode slow = body(TwoHosts.toB());
        slow.put("copyStorage", "all").put("bandwidthMiB", 1);
        TestHttp.Response started = a.post("/v1/vms/m/migration", slow);
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        awaitPhase(a, started, "mirroring");
        Path image = hosts.b.stateDir().resolve("pools/default/m-vda.qcow2");
        assertThat(image).as("the destination made the copy's image").exists();
        long t0 = System.nanoTime();
        hosts.link(false);
        try {
            JsonNode op = waitOp(a, started);
            assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("failure");
            assertThat(op.path("error").path("code").asText()).isEqualTo("peer-lost");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
            awaitNoVmOnB(Duration.ofSeconds(8));
        } finally {
            hosts.link(true);
        }
        assertThat(image).as("the copy's image is deleted").doesNotExist();
        assertThat(a.get("/v1/vms/m").json().path("definition").path("disks").get(0).path("path").asText())
                .isEqualTo(disk.toString());
        assertRunsOnlyOnA();
    }

    @Test
    @Order(4)
    void sharedStorageMigrationThenCopyStorageBack() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        long before = lastSeq(a);
        JsonNode op = waitOp(a, a.post("/v1/vms/m/migration", body(TwoHosts.toB())));
        assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("success");
        assertThat(a.get("/v1/vms/m").status()).as("undefined on the source").isEqualTo(404);
        assertThat(hosts.a.qemuPids()).isEmpty();
        JsonNode onB = b.get("/v1/vms/m").json();
        assertThat(onB.path("state").asText()).isEqualTo("running");
        assertThat(onB.path("definition").path("disks").get(0).path("path").asText()).isEqualTo(disk.toString());
        awaitSeqAbove(b, before + 3);

        // and back, copying the disk into A's pool
        ObjectNode copy = body(TwoHosts.toA());
        copy.put("copyStorage", "all");
        long onBSeq = lastSeq(b);
        op = waitOp(b, b.post("/v1/vms/m/migration", copy));
        assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("success");
        assertThat(b.get("/v1/vms/m").status()).isEqualTo(404);
        JsonNode onA = a.get("/v1/vms/m").json();
        assertThat(onA.path("state").asText()).isEqualTo("running");
        String copied = onA.path("definition").path("disks").get(0).path("path").asText();
        assertThat(copied).startsWith(hosts.a.stateDir().toString()).endsWith("m-vda.qcow2");
        awaitSeqAbove(a, onBSeq + 3);
        ok(a.post("/v1/vms/m/destroy"));
        long last = lastSeq(a);
        long onDisk = Long.parseLong(io.jvirt.blockcopy.CopyGuestAccess.sector0(Path.of(copied), "qcow2"));
        assertThat(onDisk).as("the copy on A holds every acknowledged write").isGreaterThanOrEqualTo(last);
        ok(a.post("/v1/vms/m/start?wait=true")); // for later cases: the guest boots again on A
    }

    @Test
    @Order(6)
    void destroyOnTheSourceAbortsTheMigrationCleanly() throws Exception {
        TestHttp a = hosts.apiA();
        ObjectNode slow = body(TwoHosts.toB());
        slow.put("bandwidthMiB", 1);
        TestHttp.Response started = a.post("/v1/vms/m/migration", slow);
        awaitPhase(a, started, "active");
        long t0 = System.nanoTime();
        ok(a.post("/v1/vms/m/destroy"));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("destroy answers at once").isLessThan(Duration.ofSeconds(8));
        JsonNode op = waitOp(a, started);
        assertThat(op.path("status").asText()).as(op.toString()).isIn("failure", "cancelled");
        awaitNoVmOnB(Duration.ofSeconds(10));
        assertThat(a.get("/v1/vms/m").json().path("state").asText()).isEqualTo("shutoff");
        assertThat(hosts.a.qemuPids()).isEmpty();
    }

    @Test
    @Order(5)
    void cliMigratesAndRefusesWhatIsNotSupported() {
        var r = io.jvirt.cli.CliRun.run(hosts.a, "migrate", "m", TwoHosts.toB(), "--postcopy", "--postcopy-after-precopy");
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        r = io.jvirt.cli.CliRun.run(hosts.a, "migrate", "m", TwoHosts.toB(), "--copy-storage-inc");
        assertThat(r.exit()).as(r.toString()).isEqualTo(7);
        assertThat(r.err()).contains("no backing file");
        r = io.jvirt.cli.CliRun.run(hosts.a, "migrate-cancel", "m");
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).contains("not migrating");
        r = io.jvirt.cli.CliRun.run(hosts.a, "migrate", "m", TwoHosts.toB());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Migrated m to " + TwoHosts.toB()).contains("downtime");
        assertThat(r.err()).as("progress line").contains("RAM").contains("pass");
        r = io.jvirt.cli.CliRun.run(hosts.b, "-o", "json", "migrate", "m", TwoHosts.toA());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("\"status\" : \"success\"");
        assertThat(hosts.apiA().get("/v1/vms/m").json().path("state").asText()).isEqualTo("running");
    }

    @Test
    @Order(7)
    void copyStorageIncCopiesTheTopOverTheSameBase() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        Path base = TestGuest.newDisk(hosts.dir.resolve("base.qcow2"), "qcow2", "64M");
        Path top = hosts.dir.resolve("inc.qcow2");
        TestGuest.run(java.util.List.of("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2",
                top.toString()), 60);
        ObjectNode d = TestGuest.definition("inc");
        d.putArray("disks").addObject().put("name", "vda").put("path", top.toString()).put("format", "qcow2");
        assertThat(a.post("/v1/vms", d).status()).isEqualTo(201);
        ok(a.post("/v1/vms/inc/start?wait=true"));
        try (ConsoleReader console = GuestConsole.ready(a, "inc")) {
            GuestConsole.type(a, "inc", "seqwriter /dev/vda &");
            console.await("SEQ 3", 0, T);
        }
        ObjectNode req = body(TwoHosts.toB());
        req.put("copyStorage", "inc");
        JsonNode op = waitOp(a, a.post("/v1/vms/inc/migration", req));
        assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("success");
        String copied = b.get("/v1/vms/inc").json().path("definition").path("disks").get(0).path("path").asText();
        assertThat(copied).startsWith(hosts.b.stateDir().toString());
        assertThat(io.jvirt.blockcopy.CopyGuestAccess.backing(Path.of(copied))).isEqualTo(base.toString());
        long seq = lastSeqOf(b, "inc");
        awaitSeqAbove(b, "inc", seq);
        ok(b.post("/v1/vms/inc/destroy"));
        long last = lastSeqOf(b, "inc");
        assertThat(Long.parseLong(io.jvirt.blockcopy.CopyGuestAccess.sector0(Path.of(copied), "qcow2")))
                .isGreaterThanOrEqualTo(last);
        assertThat(a.get("/v1/vms/inc").status()).isEqualTo(404);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    static ObjectNode body(String dest) {
        return JSON.createObjectNode().put("destination", dest);
    }

    static JsonNode ok(TestHttp.Response r) {
        assertThat(r.status()).as(r.toString()).isBetween(200, 202);
        return r.json();
    }

    /** Waits for the operation a 202 answer names. */
    static JsonNode waitOp(TestHttp api, TestHttp.Response started) {
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        String id = started.json().path("id").asText();
        TestHttp.Response r = api.get("/v1/operations/" + id + "/wait?timeout=120");
        return r.json();
    }

    static void awaitPhase(TestHttp api, TestHttp.Response started, String phase) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String id = started.json().path("id").asText();
        JsonNode p;
        while (!phase.equals((p = api.get("/v1/vms/m/migration").json()).path("phase").asText()) || !id.equals(p.path("id").asText())) {
            assertThat(System.nanoTime()).as("migration reaches " + phase + ": " + api.get("/v1/vms/m/migration").text())
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    void awaitNoVmOnB(Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (hosts.apiB().get("/v1/vms/m").status() != 404 || !hosts.b.qemuPids().isEmpty()) {
            assertThat(System.nanoTime()).as("destination has no VM and no QEMU left").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    void assertRunsOnlyOnA() {
        try {
            awaitNoVmOnB(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        JsonNode onA = hosts.apiA().get("/v1/vms/m").json();
        assertThat(onA.path("state").asText()).as(onA.toString()).isEqualTo("running");
        assertThat(onA.path("job").isNull() || onA.path("job").isMissingNode()).as(onA.toString()).isTrue();
        long seq = lastSeq(hosts.apiA());
        try {
            awaitSeqAbove(hosts.apiA(), seq);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    static long lastSeq(TestHttp api) {
        return lastSeqOf(api, "m");
    }

    static long lastSeqOf(TestHttp api, String vm) {
        return io.jvirt.blockcopy.CopyGuestAccess.lastSeq(api.get("/v1/vms/" + vm + "/console").text());
    }

    static void awaitSeqAbove(TestHttp api, long n) throws InterruptedException {
        awaitSeqAbove(api, "m", n);
    }

    static void awaitSeqAbove(TestHttp api, String vm, long n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (lastSeqOf(api, vm) <= n) {
            assertThat(System.nanoTime()).as("the guest goes on writing past SEQ " + n).isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
