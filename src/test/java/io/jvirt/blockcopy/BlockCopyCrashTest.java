package io.jvirt.blockcopy;

import static io.jvirt.blockcopy.CopyGuest.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The recovery table of docs/blockcopy.md, one case per cell: a guest writes a sequence number to its disk
 * continuously (each write flushed, then printed as "SEQ N"); during a copy with --pivot the daemon, QEMU or both
 * are killed right after a step is recorded; after the restart the VM (resumed or booted again) must run on an
 * image holding the last acknowledged number.
 */
class BlockCopyCrashTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SECTOR = Pattern.compile("S0=(\\d*)=S7");

    static Stream<Arguments> cells() {
        List<Arguments> cells = new ArrayList<>();
        for (String who : List.of("daemon", "qemu", "both")) {
            for (String step : List.of("copying", "ready", "pivot-requested", "pivot-done", "after")) {
                cells.add(Arguments.of(who, step));
            }
        }
        return cells.stream();
    }

    @ParameterizedTest(name = "{0} dies at {1}")
    @MethodSource("cells")
    void theDiskInUseHoldsTheLastAcknowledgedWrite(String who, String step) throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "32M");
            Path dst = dir.resolve("dst.qcow2");
            TestHttp api = daemon.http();
            assertThat(api.post("/v1/vms", CopyGuest.definition("c", src)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/c/start?wait=true"));
            try (ConsoleReader console = CopyGuest.console(api, "c")) {
                CopyGuest.type(api, "c", "seqwriter /dev/vda &");
                console.await("SEQ 5", 0, CopyGuest.T);
            }

            // arm the fault in a fresh daemon (it adopts the running QEMU), then ask for a copy with pivot
            daemon.kill9();
            daemon.env.put("JVIRT_FAULT", "blockcopy:" + who + "-" + step);
            daemon.restart();
            api = daemon.http();
            long daemonPid = daemon.pid();
            long qemuPid = api.get("/v1/vms/c").json().path("runtime").path("pid").asLong();
            try {
                api.post("/v1/vms/c/disks/vda/copy", JSON.createObjectNode().put("dest", dst.toString()).put("pivot", true));
            } catch (RuntimeException | AssertionError e) {
                // the daemon may halt before it answers
            }
            if (!who.equals("daemon")) {
                DaemonProcess.awaitGone(qemuPid, Duration.ofSeconds(60));
            }
            if (!who.equals("qemu")) {
                DaemonProcess.awaitGone(daemonPid, Duration.ofSeconds(60));
            } else {
                awaitState(api, "crashed");
            }
            assertThat(Files.readString(daemon.log())).contains("JVIRT_FAULT:").contains("blockcopy:" + step);
            daemon.env.put("JVIRT_FAULT", null);
            if (!who.equals("qemu")) {
                daemon.restart();
                api = daemon.http();
            }

            String state = api.get("/v1/vms/c").json().path("state").asText();
            if (who.equals("daemon")) {
                // QEMU lived on: the restarted daemon adopted the copy (or finished the pivot it found under way)
                assertThat(state).isEqualTo("running");
                if (api.get("/v1/vms/c/disks/vda/job").json().path("active").asBoolean()) {
                    ok(api.post("/v1/vms/c/disks/vda/job/pivot?timeout=60"));
                }
                assertThat(definedPath(api)).isEqualTo(dst.toString());
                long seqBefore = CopyGuest.lastSeq(api.get("/v1/vms/c/console").text());
                awaitConsoleSeq(api, seqBefore + 3); // the guest goes on writing, on the destination
                ok(api.post("/v1/vms/c/destroy"));
            } else {
                assertThat(state).isEqualTo("crashed");
                awaitCopyEnded(api); // the copy's thread notices QEMU's death a moment after the VM state does
                if (!step.equals("pivot-done")) {
                    // before the switch the source has everything; after the recorded pivot, the destination
                    assertThat(definedPath(api)).isEqualTo(step.equals("after") ? dst.toString() : src.toString());
                }
            }

            // the last acknowledged write, from the console log of the run that just ended (written by QEMU itself)
            long acked = CopyGuest.lastSeq(api.get("/v1/vms/c/console").text());
            assertThat(acked).isGreaterThanOrEqualTo(5);
            Path inUse = Path.of(definedPath(api));
            long onDisk = Long.parseLong(CopyGuest.sector0(inUse, "qcow2"));
            assertThat(onDisk).as("sequence number in %s (last acknowledged: %d)", inUse, acked).isBetween(acked, acked + 1);

            // boot from the definition: the guest reads the same number
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

    private static void awaitCopyEnded(TestHttp api) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (ok(api.get("/v1/vms/c/disks/vda/job")).path("active").asBoolean()) {
            assertThat(System.nanoTime()).as("the copy ends within 30 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static void awaitConsoleSeq(TestHttp api, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (CopyGuest.lastSeq(api.get("/v1/vms/c/console").text()) < atLeast) {
            assertThat(System.nanoTime()).as("guest writes SEQ %d", atLeast).isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
