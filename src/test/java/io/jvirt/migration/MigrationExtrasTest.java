package io.jvirt.migration;

import static io.jvirt.migration.MigrationTest.body;
import static io.jvirt.migration.MigrationTest.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What a migration carries besides RAM and disks, and how it ends when RAM cannot follow: the console history
 * continues on the destination, {@code parallel} moves RAM over multifd, and a guest that dirties memory faster
 * than a throttled link is given up with the rates. One booted {@code seqwriter} guest on shared storage, in order:
 * it stays on A until the last case moves it to B.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationExtrasTest {
    private static final Pattern SEQ = Pattern.compile("SEQ (\\d+)\\r?\\n");
    /** 8 MiB of random data in tmpfs, rewritten in place in a loop (the same pages, dirtied again and again). */
    static final String DIRTIER = "dd if=/dev/urandom of=/run/dirty-src bs=1M count=8 2>/dev/null;"
            + " (while :; do dd if=/run/dirty-src of=/run/dirty bs=1M conv=notrunc 2>/dev/null; done) &"
            + " echo $! > /run/dirty.pid; echo DIRTYING-$((40+2))";
    TwoHosts hosts;
    Path disk;

    @BeforeAll
    void start() throws Exception {
        // a throttled migration runs for a minute or more: a starved peer on a loaded 2-core host must not look lost
        hosts = TwoHosts.start("--migration-peer-timeout", "20");
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
    void badParallelIsRefusedAndChangesNothing() {
        TestHttp a = hosts.apiA();
        for (int n : new int[] {0, -1, 17}) {
            TestHttp.Response r = a.post("/v1/vms/m/migration", body(TwoHosts.toB()).put("parallel", n));
            assertThat(r.errorCode()).as(r.toString()).isEqualTo("invalid-argument");
            assertThat(r.json().path("error").path("message").asText()).contains("1 to 16");
        }
        TestHttp.Response r = a.post("/v1/vms/m/migration", body(TwoHosts.toB()).put("parallel", 2).put("postcopy", true));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("invalid-argument");
        assertThat(r.json().path("error").path("message").asText()).contains("post-copy");
        var cli = io.jvirt.cli.CliRun.run(hosts.a, "migrate", "m", TwoHosts.toB(), "--parallel", "99");
        assertThat(cli.exit()).as(cli.toString()).isNotZero();
        assertThat(cli.err()).contains("1 to 16");
        assertThat(a.get("/v1/vms/m").json().path("state").asText()).isEqualTo("running");
        assertThat(a.get("/v1/vms/m").json().path("job").isNull() || a.get("/v1/vms/m").json().path("job").isMissingNode()).isTrue();
        assertThat(hosts.apiB().get("/v1/vms/m").status()).isEqualTo(404);
        assertThat(hosts.b.qemuPids()).isEmpty();
    }

    /**
     * The guest rewrites 8 MiB of tmpfs in a loop (tens of MiB/s even on a loaded TCG host) while the link moves
     * 2 MiB/s: every pass leaves the whole 8 MiB dirty again, far more than 2 MiB/s × 50 ms. Without auto-converge
     * the policy gives up after its passes with both rates; the guest never stops on A.
     */
    @Test
    @Order(2)
    void aGuestDirtyingFasterThanTheLinkIsGivenUpWithTheRates() throws Exception {
        TestHttp a = hosts.apiA();
        try (ConsoleReader console = new ConsoleReader(a, "m")) {
            GuestConsole.type(a, "m", DIRTIER);
            console.await("DIRTYING-42", 0, GuestConsole.TIMEOUT);
        }
        ObjectNode req = body(TwoHosts.toB()).put("bandwidthMiB", 2).put("maxDowntimeMs", 50);
        long t0 = System.nanoTime();
        TestHttp.Response started = a.post("/v1/vms/m/migration", req);
        JsonNode op = waitOp(a, started, 400);
        System.out.printf("convergence: given up after %d ms: %s%n", (System.nanoTime() - t0) / 1_000_000,
                op.path("error").path("message").asText());
        try {
            assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs()).isEqualTo("failure");
            assertThat(op.path("error").path("code").asText()).isEqualTo("migration-failed");
            String msg = op.path("error").path("message").asText();
            Matcher rates = Pattern.compile("dirties (\\d+\\.\\d) MiB/s, (?:more than|as fast as) the link's (\\d+\\.\\d) MiB/s").matcher(msg);
            assertThat(rates.find()).as(msg).isTrue();
            assertThat(Double.parseDouble(rates.group(1))).as("the dirty rate QEMU measured: " + msg).isGreaterThan(0.5);
            double link = Double.parseDouble(rates.group(2));
            assertThat(link).as("the link's rate, throttled to 2 MiB/s: " + msg).isBetween(0.5, 2.5);
            assertThat(msg).contains("does not converge").contains("downtime limit already 50 ms");
            assertRunsOnlyOnA();
        } finally {
            try (ConsoleReader console = new ConsoleReader(a, "m")) {
                GuestConsole.type(a, "m", "kill $(cat /run/dirty.pid); rm -f /run/dirty /run/dirty-src; echo STOPPED-$((40+3))");
                console.await("STOPPED-43", 0, GuestConsole.TIMEOUT);
            }
        }
    }

    /**
     * {@code parallel 2} over TLS: QEMU on both sides has multifd on with 2 channels, the RAM went over them, and
     * the guest runs on B with every acknowledged write on its disk. B's console starts with A's history (the
     * boot, a line typed before the migration, every SEQ printed on A, those printed during the migration) and goes
     * on with what the guest prints on B, without a gap in the sequence.
     */
    @Test
    @Order(3)
    void parallelMigrationCarriesTheConsoleHistory() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        try (ConsoleReader console = new ConsoleReader(a, "m")) {
            GuestConsole.type(a, "m", "echo BEFORE-MIGRATION-$((6*7))");
            console.await("BEFORE-MIGRATION-42", 0, GuestConsole.TIMEOUT);
        }
        long before = MigrationTest.lastSeq(a);
        long t0 = System.nanoTime();
        JsonNode op = waitOp(a, a.post("/v1/vms/m/migration", body(TwoHosts.toB()).put("parallel", 2)), 300);
        System.out.printf("parallel 2: %d ms, %s%n", (System.nanoTime() - t0) / 1_000_000, op.path("result"));
        assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs()).isEqualTo("success");
        assertThat(op.path("result").path("multifdBytes").asLong()).as("RAM went over multifd: " + op).isPositive();
        assertThat(Files.readString(hosts.b.log())).as("B's QEMU had multifd on (query-migrate-capabilities)")
                .contains("multifd on, 2 channels");
        assertThat(a.get("/v1/vms/m").status()).isEqualTo(404);
        assertThat(hosts.a.qemuPids()).isEmpty();
        assertThat(b.get("/v1/vms/m").json().path("state").asText()).isEqualTo("running");
        MigrationTest.awaitSeqAbove(b, before + 3);
        try (ConsoleReader console = new ConsoleReader(b, "m")) {
            GuestConsole.type(b, "m", "echo AFTER-MIGRATION-$((6*8))");
            console.await("AFTER-MIGRATION-48", 0, GuestConsole.TIMEOUT);
        }
        String tail = b.get("/v1/vms/m/console?tail=200").text();
        String head = b.get("/v1/vms/m/console?offset=0&length=100").text();
        String onB = b.get("/v1/vms/m/console").text();
        assertThat(onB).as("a tail read sees the same log").contains(tail).startsWith(head);
        assertThat(head).as("a range read from 0 is A's boot").contains("Linux version");
        assertThat(onB).as("A's boot is B's history").contains("JVIRT-GUEST-READY");
        int typed = onB.indexOf("BEFORE-MIGRATION-42");
        assertThat(typed).as("the line printed on A before the migration").isPositive();
        assertThat(onB.indexOf("AFTER-MIGRATION-48", typed)).as("then what the guest printed on B").isGreaterThan(typed);
        List<Long> seqs = new ArrayList<>();
        for (Matcher m = SEQ.matcher(onB); m.find(); ) {
            seqs.add(Long.parseLong(m.group(1)));
        }
        assertThat(seqs.get(0)).as("the history begins with the first writes on A").isLessThanOrEqualTo(3);
        for (int i = 1; i < seqs.size(); i++) {
            assertThat(seqs.get(i)).as("SEQ numbers in B's console, across the switch: " + seqs).isEqualTo(seqs.get(i - 1) + 1);
        }
        assertThat(seqs.get(seqs.size() - 1)).isGreaterThan(before + 3);

    }

    /**
     * multifd with copied storage, i.e. with pause-before-switchover and the NBD mirrors (QEMU 7.2 takes the
     * combination): back from B to A with 3 channels, the disk copied into A's pool holds every acknowledged write.
     */
    @Test
    @Order(4)
    void parallelWithCopiedStorageBack() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        long onBSeq = MigrationTest.lastSeq(b);
        JsonNode op = waitOp(b, b.post("/v1/vms/m/migration", body(TwoHosts.toA()).put("parallel", 3).put("copyStorage", "all")), 300);
        assertThat(op.path("status").asText()).as(op + "\n" + hosts.logs()).isEqualTo("success");
        assertThat(op.path("result").path("multifdBytes").asLong()).as(op.toString()).isPositive();
        assertThat(Files.readString(hosts.a.log())).contains("multifd on, 3 channels");
        assertThat(b.get("/v1/vms/m").status()).isEqualTo(404);
        JsonNode onA = a.get("/v1/vms/m").json();
        assertThat(onA.path("state").asText()).isEqualTo("running");
        String copied = onA.path("definition").path("disks").get(0).path("path").asText();
        assertThat(copied).startsWith(hosts.a.stateDir().toString());
        MigrationTest.awaitSeqAbove(a, onBSeq + 3);
        assertThat(a.get("/v1/vms/m/console").text()).as("the history went there and back").contains("BEFORE-MIGRATION-42")
                .contains("AFTER-MIGRATION-48");
        ok(a.post("/v1/vms/m/destroy"));
        long last = MigrationTest.lastSeq(a);
        long onDisk = Long.parseLong(io.jvirt.blockcopy.CopyGuestAccess.sector0(Path.of(copied), "qcow2"));
        assertThat(onDisk).as("the copy on A holds every acknowledged write").isGreaterThanOrEqualTo(last);
    }

    /** The guest runs on A and goes on writing; B has neither the VM nor a QEMU. */
    void assertRunsOnlyOnA() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (hosts.apiB().get("/v1/vms/m").status() != 404 || !hosts.b.qemuPids().isEmpty()) {
            assertThat(System.nanoTime()).as("destination has no VM and no QEMU left").isLessThan(deadline);
            Thread.sleep(100);
        }
        JsonNode onA = hosts.apiA().get("/v1/vms/m").json();
        assertThat(onA.path("state").asText()).as(onA.toString()).isEqualTo("running");
        MigrationTest.awaitSeqAbove(hosts.apiA(), MigrationTest.lastSeq(hosts.apiA()));
    }

    static JsonNode waitOp(TestHttp api, TestHttp.Response started, int seconds) {
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        return api.get("/v1/operations/" + started.json().path("id").asText() + "/wait?timeout=" + seconds).json();
    }
}
