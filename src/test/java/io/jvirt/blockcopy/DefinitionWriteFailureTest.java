package io.jvirt.blockcopy;

import static io.jvirt.blockcopy.CopyGuest.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After QEMU switched a disk (a pivot, an external snapshot), the definition must follow before the guest runs
 * on: a kernel file removed meanwhile must not stop that write, and a write that fails (here by the
 * {@code vm:fail-definition-write} fault, as a full state disk would) holds the guest paused until a resume, a
 * pivot retry or a restarted daemon writes it. In every case the image the definition names holds every write
 * the guest saw acknowledged, checked on the host and by booting from it again.
 */
class DefinitionWriteFailureTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SECTOR = Pattern.compile("S0=(\\d*)=S7");

    @Test
    void aPivotSucceedsWhenTheKernelFileIsGone() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path boot = Files.createDirectories(daemon.root().resolve("boot"));
            Path kernel = Files.copy(TestGuest.kernel(), boot.resolve("vmlinux"));
            Files.copy(TestGuest.initrd(), boot.resolve("initrd.img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "32M");
            Path dst = dir.resolve("dst.qcow2");
            TestHttp api = daemon.http();
            ObjectNode def = CopyGuest.definition("c", src);
            ((ObjectNode) def.path("boot")).put("kernel", kernel.toString()).put("initrd", boot.resolve("initrd.img").toString());
            assertThat(api.post("/v1/vms", def).status()).isEqualTo(201);
            startWriting(api);
            copyUntilReady(api, dst);

            Files.move(kernel, boot.resolve("vmlinux.away")); // an admin cleaning up while the VM runs
            JsonNode pivoted = ok(api.post("/v1/vms/c/disks/vda/job/pivot?timeout=60"));
            assertThat(pivoted.path("phase").asText()).isEqualTo("pivoted");
            assertThat(definedPath(api)).isEqualTo(dst.toString());
            assertThat(api.get("/v1/vms/c").json().path("state").asText()).isEqualTo("running");
            awaitSeq(api, CopyGuest.lastSeq(console(api)) + 3); // on the destination now

            Files.move(boot.resolve("vmlinux.away"), kernel); // needed to boot again
            checkEveryAcknowledgedWrite(api, dst);
        }
    }

    @ParameterizedTest(name = "finished by {0}")
    @ValueSource(strings = {"resume", "pivot-retry", "daemon-restart"})
    void aPivotWhoseDefinitionWriteFailsHoldsTheGuest(String finishedBy) throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path flag = armFault(daemon);
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "32M");
            Path dst = dir.resolve("dst.qcow2");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", CopyGuest.definition("c", src)).status()).isEqualTo(201);
            startWriting(api);
            copyUntilReady(api, dst);

            TestHttp.Response failed = api.post("/v1/vms/c/disks/vda/job/pivot?timeout=60");
            assertThat(failed.status()).as(failed.toString()).isEqualTo(500);
            assertThat(failed.errorCode()).isEqualTo("definition-not-written");
            assertThat(failed.json().path("error").path("message").asText()).contains("switched").contains(dst.toString())
                    .contains("paused").doesNotContain("stays on");
            JsonNode job = ok(api.get("/v1/vms/c/disks/vda/job"));
            assertThat(job.path("active").asBoolean()).isTrue();
            assertThat(job.path("phase").asText()).isEqualTo("pivot-done");
            assertHeld(api, "c", src);
            assertThat(api.post("/v1/vms/c/disks/vda/job/abort").errorCode()).isEqualTo("guest-held");

            finish(daemon, flag, finishedBy, "/v1/vms/c/disks/vda/job/pivot?timeout=60");
            api = daemon.http();
            awaitState(api, "running");
            assertThat(api.get("/v1/vms/c").json().has("hold")).isFalse();
            assertThat(definedPath(api)).isEqualTo(dst.toString());
            assertThat(ok(api.get("/v1/vms/c/disks/vda/job")).path("phase").asText()).isEqualTo("pivoted");
            awaitSeq(api, CopyGuest.lastSeq(console(api)) + 3);
            checkEveryAcknowledgedWrite(api, dst);
        }
    }

    @ParameterizedTest(name = "finished by {0}")
    @ValueSource(strings = {"resume", "daemon-restart"})
    void anExternalSnapshotWhoseDefinitionWriteFailsHoldsTheGuest(String finishedBy) throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path flag = armFault(daemon);
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "32M");
            Path overlay = dir.resolve("c-vda-s1.qcow2");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", CopyGuest.definition("c", src)).status()).isEqualTo(201);
            startWriting(api);

            TestHttp.Response failed = api.post("/v1/vms/c/snapshots?wait=true",
                    JSON.valueToTree(Map.of("name", "s1", "external", true)));
            assertThat(failed.errorCode()).as(failed.toString()).isEqualTo("definition-not-written");
            assertThat(failed.json().path("error").path("message").asText()).contains(overlay.toString()).contains("paused");
            assertHeld(api, "c", src);

            finish(daemon, flag, finishedBy, null);
            api = daemon.http();
            awaitState(api, "running");
            assertThat(definedPath(api)).isEqualTo(overlay.toString());
            JsonNode snaps = ok(api.get("/v1/vms/c/snapshots"));
            assertThat(snaps.path("snapshots").get(0).path("name").asText()).isEqualTo("s1");
            awaitSeq(api, CopyGuest.lastSeq(console(api)) + 3); // on the overlay now
            checkEveryAcknowledgedWrite(api, overlay);
        }
    }

    // ---- steps -------------------------------------------------------------------------------------------------

    /** The fault fails every definition write after a switch while the flag file exists. */
    private static Path armFault(DaemonProcess daemon) throws Exception {
        Path flag = daemon.root().resolve("state-disk-full");
        Files.writeString(flag, "armed");
        daemon.kill9();
        daemon.env.put("JVIRT_FAULT", "vm:fail-definition-write:" + flag);
        daemon.restart();
        return flag;
    }

    private static void startWriting(TestHttp api) throws Exception {
        ok(api.post("/v1/vms/c/start?wait=true"));
        try (ConsoleReader console = CopyGuest.console(api, "c")) {
            CopyGuest.type(api, "c", "seqwriter /dev/vda &");
            console.await("SEQ 5", 0, CopyGuest.T);
        }
    }

    private static void copyUntilReady(TestHttp api, Path dst) throws InterruptedException {
        ok(api.post("/v1/vms/c/disks/vda/copy", JSON.createObjectNode().put("dest", dst.toString())));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!ok(api.get("/v1/vms/c/disks/vda/job")).path("phase").asText().equals("ready")) {
            assertThat(System.nanoTime()).as("the copy is ready within 60 s").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /** Paused, held (resume refused, saying why), and the guest writes nothing while held. */
    private static void assertHeld(TestHttp api, String vm, Path definedStill) throws InterruptedException {
        JsonNode info = api.get("/v1/vms/" + vm).json();
        assertThat(info.path("state").asText()).isEqualTo("paused");
        assertThat(info.path("hold").path("reason").asText()).contains("could not be written");
        assertThat(definedPath(api)).isEqualTo(definedStill.toString());
        long seq = CopyGuest.lastSeq(console(api));
        TestHttp.Response resume = api.post("/v1/vms/" + vm + "/resume");
        assertThat(resume.status()).as(resume.toString()).isEqualTo(409);
        assertThat(resume.errorCode()).isEqualTo("guest-held");
        assertThat(resume.json().path("error").path("message").asText()).contains("paused until");
        Thread.sleep(1500);
        assertThat(CopyGuest.lastSeq(console(api))).as("no write while held").isEqualTo(seq);
        assertThat(api.get("/v1/vms/" + vm).json().path("state").asText()).isEqualTo("paused");
    }

    /** The state disk is fine again; one of the ways that finish the held switch. */
    private static void finish(DaemonProcess daemon, Path flag, String how, String retry) throws Exception {
        switch (how) {
            case "resume" -> {
                Files.delete(flag);
                ok(daemon.http().post("/v1/vms/c/resume"));
            }
            case "pivot-retry" -> {
                Files.delete(flag);
                ok(daemon.http().post(retry));
            }
            case "daemon-restart" -> {
                daemon.kill9(); // right after the failed write; QEMU lives on, paused
                Files.delete(flag);
                daemon.env.put("JVIRT_FAULT", null);
                daemon.restart();
            }
            default -> throw new IllegalArgumentException(how);
        }
    }

    /**
     * The last acknowledged write (from the console log QEMU wrote) is on the image the definition names, read on
     * the host with QEMU gone, and a guest booted from the definition reads the same.
     */
    private static void checkEveryAcknowledgedWrite(TestHttp api, Path expected) throws Exception {
        ok(api.post("/v1/vms/c/destroy"));
        assertThat(definedPath(api)).isEqualTo(expected.toString());
        long acked = CopyGuest.lastSeq(console(api));
        long onDisk = Long.parseLong(CopyGuest.sector0(expected, "qcow2"));
        assertThat(onDisk).as("sequence number in %s (last acknowledged: %d)", expected, acked).isBetween(acked, acked + 1);
        ok(api.post("/v1/vms/c/start?wait=true"));
        try (ConsoleReader console = CopyGuest.console(api, "c")) {
            int at = console.length();
            CopyGuest.type(api, "c", "echo S0=$(dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\\000')=S$((3+4))");
            console.await("=S7", at, CopyGuest.T);
            Matcher m = SECTOR.matcher(console.text().substring(at));
            long seen = -1;
            while (m.find()) {
                if (!m.group(1).isEmpty()) {
                    seen = Long.parseLong(m.group(1));
                }
            }
            assertThat(seen).isEqualTo(onDisk);
        }
        ok(api.post("/v1/vms/c/destroy"));
    }

    private static String console(TestHttp api) {
        return api.get("/v1/vms/c/console").text();
    }

    private static String definedPath(TestHttp api) {
        return api.get("/v1/vms/c").json().path("definition").path("disks").get(0).path("path").asText();
    }

    private static void awaitState(TestHttp api, String state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!api.get("/v1/vms/c").json().path("state").asText().equals(state)) {
            assertThat(System.nanoTime()).as("VM state %s within 30 s", state).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static void awaitSeq(TestHttp api, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (CopyGuest.lastSeq(console(api)) < atLeast) {
            assertThat(System.nanoTime()).as("guest writes SEQ %d", atLeast).isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
