package io.jvirt.blockcopy;

import static io.jvirt.blockcopy.CopyGuest.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.EventCollector;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Live block copy through the API on the tiny guest: full and shallow copies, pivot, finish, abort, bad input. */
class BlockCopyApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode copy(Path dest) {
        return JSON.createObjectNode().put("dest", dest.toString());
    }

    private static String definedPath(TestHttp api, String vm) {
        return api.get("/v1/vms/" + vm).json().path("definition").path("disks").get(0).path("path").asText();
    }

    @Test
    void fullCopyPivotsTheGuestToTheDestinationWithItsWrites() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "64M");
            CopyGuest.fill(src, "qcow2", 0x61, "1M", "8M");
            Path dst = dir.resolve("dst.qcow2");
            assertThat(api.post("/v1/vms", CopyGuest.definition("b1", src)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/b1/start?wait=true"));
            try (ConsoleReader console = CopyGuest.console(api, "b1");
                 EventCollector events = new EventCollector(api, "b1")) {
                CopyGuest.write(api, console, "b1", "hello");

                JsonNode op = ok(api.post("/v1/vms/b1/disks/vda/copy?wait=true", copy(dst).put("pivot", true)));
                assertThat(op.path("status").asText()).isEqualTo("success");
                JsonNode result = op.path("result");
                assertThat(result.path("phase").asText()).isEqualTo("pivoted");
                assertThat(result.path("activeImage").asText()).isEqualTo(dst.toString());
                assertThat(result.hasNonNull("pivotPauseMillis")).as(result.toString()).isTrue();
                assertThat(result.path("pivotPauseMillis").asLong()).isBetween(0L, 5000L);
                assertThat(definedPath(api, "b1")).isEqualTo(dst.toString());
                // the event stream told the phases, with byte progress
                JsonNode ready = events.await(e -> "blockcopy".equals(e.path("type").asText())
                        && "ready".equals(e.path("phase").asText()), Duration.ofSeconds(5));
                assertThat(ready.path("progress").path("total").asLong()).isGreaterThanOrEqualTo(8L << 20);
                assertThat(ready.path("progress").path("remaining").asLong()).isZero();
                events.await(e -> "pivoted".equals(e.path("phase").asText()), Duration.ofSeconds(5));

                // the guest runs on the copy: it reads what it wrote before and writes on
                CopyGuest.expect(api, console, "b1", "hello");
                CopyGuest.write(api, console, "b1", "after");
            }
            // a second pivot has no job, and says which image is active
            TestHttp.Response again = api.post("/v1/vms/b1/disks/vda/job/pivot");
            assertThat(again.status()).isEqualTo(404);
            assertThat(again.errorCode()).isEqualTo("no-block-job");
            assertThat(again.json().path("error").path("message").asText()).contains("pivoted").contains(dst.toString());

            ok(api.post("/v1/vms/b1/destroy"));
            assertThat(CopyGuest.sector0(dst, "qcow2")).isEqualTo("after");
            assertThat(CopyGuest.sector0(src, "qcow2")).isEqualTo("hello"); // the source is left alone
            assertThat(CopyGuest.holds(dst, "qcow2", 0x61, "1M", "8M")).isTrue();
            // a fresh boot comes up on the destination
            ok(api.post("/v1/vms/b1/start?wait=true"));
            try (ConsoleReader console = CopyGuest.console(api, "b1")) {
                CopyGuest.expect(api, console, "b1", "after");
            }
            ok(api.post("/v1/vms/b1/destroy"));
        }
    }

    @Test
    void shallowCopyFinishLeavesAPointInTimeCopyOverTheSharedBase() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path base = TestGuest.newDisk(dir.resolve("base.qcow2"), "qcow2", "64M");
            CopyGuest.fill(base, "qcow2", 0x62, "2M", "4M");
            Path top = dir.resolve("top.qcow2");
            CopyGuest.run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2", top.toString());
            Path dst = dir.resolve("shallow.qcow2");
            assertThat(api.post("/v1/vms", CopyGuest.definition("b2", top)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/b2/start?wait=true"));
            try (ConsoleReader console = CopyGuest.console(api, "b2")) {
                CopyGuest.write(api, console, "b2", "first");
                JsonNode op = ok(api.post("/v1/vms/b2/disks/vda/copy?wait=true",
                        copy(dst).put("shallow", true).put("finish", true)));
                assertThat(op.path("result").path("phase").asText()).isEqualTo("finished");
                assertThat(op.path("result").path("shallow").asBoolean()).isTrue();
                // the guest stays on its source and goes on writing there
                assertThat(definedPath(api, "b2")).isEqualTo(top.toString());
                CopyGuest.write(api, console, "b2", "later");
            }
            ok(api.post("/v1/vms/b2/destroy"));
            // the copy holds the top as of the finish, over the same base
            JsonNode info = JSON.readTree(CopyGuest.run("qemu-img", "info", "--output=json", dst.toString()));
            assertThat(info.path("full-backing-filename").asText(info.path("backing-filename").asText())).isEqualTo(base.toString());
            assertThat(CopyGuest.sector0(dst, "qcow2")).isEqualTo("first");
            assertThat(CopyGuest.sector0(top, "qcow2")).isEqualTo("later");
            assertThat(CopyGuest.holds(dst, "qcow2", 0x62, "2M", "4M")).isTrue();
            // only the top layer was copied: the base's 4 MiB are not in the copy
            long allocated = JSON.readTree(CopyGuest.run("qemu-img", "info", "--output=json", dst.toString())).path("actual-size").asLong();
            assertThat(allocated).isLessThan(3L << 20);
        }
    }

    @Test
    void aCopyRunsBesideOtherCallsAndIsPivotedOrAbortedLater() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "64M");
            CopyGuest.fill(src, "qcow2", 0x63, "0", "48M");
            assertThat(api.post("/v1/vms", CopyGuest.definition("b3", src)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/b3/start?wait=true"));
            CopyGuest.console(api, "b3").close();

            // a slow copy (1 MiB/s): the VM answers queries meanwhile, other jobs on it are refused
            Path slow = dir.resolve("slow.qcow2");
            JsonNode op = ok(api.post("/v1/vms/b3/disks/vda/copy", copy(slow).put("bandwidthMiB", 1)));
            assertThat(op.path("status").asText()).isEqualTo("running");
            long t0 = System.nanoTime();
            assertThat(api.get("/v1/vms/b3").json().path("state").asText()).isEqualTo("running");
            assertThat(api.get("/v1/vms").status()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
            JsonNode job = ok(api.get("/v1/vms/b3/disks/vda/job"));
            assertThat(job.path("phase").asText()).isEqualTo("copying");
            assertThat(job.path("dest").asText()).isEqualTo(slow.toString());
            TestHttp.Response busy = api.post("/v1/vms/b3/disks/vda/copy", copy(dir.resolve("other.qcow2")));
            assertThat(busy.status()).isEqualTo(409);
            assertThat(busy.errorCode()).isEqualTo("vm-busy");
            assertThat(dir.resolve("other.qcow2")).doesNotExist();
            TestHttp.Response snap = api.post("/v1/vms/b3/snapshots", JSON.valueToTree(Map.of("name", "s1")));
            assertThat(snap.errorCode()).isEqualTo("vm-busy");
            // a pivot asked too early waits, then says how far the copy is
            TestHttp.Response early = api.post("/v1/vms/b3/disks/vda/job/pivot?timeout=1");
            assertThat(early.status()).isEqualTo(504);
            assertThat(early.json().path("error").path("message").asText()).contains("not ready after 1 s").contains("copied");
            // progress is reported in bytes
            JsonNode progress = ok(api.get("/v1/vms/b3/disks/vda/job")).path("progress");
            assertThat(progress.path("total").asLong()).isGreaterThan(0);
            assertThat(progress.path("transferred").asLong() + progress.path("remaining").asLong())
                    .isEqualTo(progress.path("total").asLong());
            // abort before ready: the guest stays on its source, the copy operation ends
            JsonNode aborted = ok(api.post("/v1/vms/b3/disks/vda/job/abort"));
            assertThat(aborted.path("phase").asText()).isEqualTo("aborted");
            JsonNode done = ok(api.get("/v1/operations/" + op.path("id").asText() + "/wait?timeout=10"));
            assertThat(done.path("status").asText()).isEqualTo("success");
            assertThat(definedPath(api, "b3")).isEqualTo(src.toString());
            assertThat(api.post("/v1/vms/b3/disks/vda/job/abort").errorCode()).isEqualTo("no-block-job");

            // again, unlimited, without --pivot: it stays ready until someone pivots
            Path fast = dir.resolve("fast.raw");
            try (EventCollector events = new EventCollector(api, "b3")) {
                ok(api.post("/v1/vms/b3/disks/vda/copy", copy(fast).put("format", "raw").put("bandwidthMiB", 1)));
                ok(api.post("/v1/vms/b3/disks/vda/job/bandwidth", JSON.createObjectNode().put("bandwidthMiB", 0)));
                events.await(e -> "ready".equals(e.path("phase").asText()), Duration.ofSeconds(60));
            }
            assertThat(ok(api.get("/v1/vms/b3/disks/vda/job")).path("phase").asText()).isEqualTo("ready");
            assertThat(ok(api.get("/v1/vms/b3/blockjobs")).path("jobs")).hasSize(1);
            JsonNode pivoted = ok(api.post("/v1/vms/b3/disks/vda/job/pivot"));
            assertThat(pivoted.path("phase").asText()).isEqualTo("pivoted");
            JsonNode disk = api.get("/v1/vms/b3").json().path("definition").path("disks").get(0);
            assertThat(disk.path("path").asText()).isEqualTo(fast.toString());
            assertThat(disk.path("format").asText()).isEqualTo("raw");
            ok(api.post("/v1/vms/b3/destroy"));
            assertThat(CopyGuest.holds(fast, "raw", 0x63, "1M", "47M")).isTrue();
        }
    }

    @Test
    void aWriteErrorOnTheDestinationEndsTheCopyAndSaysWhy() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path small = Files.createDirectories(daemon.root().resolve("small"));
            // a destination filesystem too small for the data: QEMU's writes to it fail with ENOSPC
            boolean mounted = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", small.toString())
                    .redirectErrorStream(true).start().waitFor() == 0;
            org.junit.jupiter.api.Assumptions.assumeTrue(mounted, "cannot mount a small tmpfs here (not root?)");
            try {
                Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "64M");
                CopyGuest.fill(src, "qcow2", 0x64, "0", "32M");
                assertThat(api.post("/v1/vms", CopyGuest.definition("b5", src)).status()).isEqualTo(201);
                ok(api.post("/v1/vms/b5/start?wait=true"));
                try (EventCollector events = new EventCollector(api, "b5")) {
                    TestHttp.Response r = api.post("/v1/vms/b5/disks/vda/copy?wait=true",
                            copy(small.resolve("dst.qcow2")).put("pivot", true));
                    assertThat(r.status()).as(r.toString()).isEqualTo(500);
                    assertThat(r.errorCode()).isEqualTo("qemu-failed");
                    assertThat(r.json().path("error").path("message").asText())
                            .contains("the copy failed").containsIgnoringCase("space").contains("stays on " + src);
                    events.await(e -> "failed".equals(e.path("phase").asText()), Duration.ofSeconds(10));
                }
                assertThat(definedPath(api, "b5")).isEqualTo(src.toString());
                assertThat(ok(api.get("/v1/vms/b5/disks/vda/job")).path("phase").asText()).isEqualTo("failed");
                assertThat(api.get("/v1/vms/b5").json().path("state").asText()).isEqualTo("running");
                ok(api.post("/v1/vms/b5/destroy"));
            } finally {
                api.post("/v1/vms/b5/destroy"); // QEMU must let go of the file system first
                new ProcessBuilder("umount", "-l", small.toString()).start().waitFor();
            }
        }
    }

    @Test
    void badRequestsAreRefusedAndChangeNothing() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "64M");
            Path existing = TestGuest.newDisk(dir.resolve("existing.qcow2"), "qcow2", "64M");
            Path small = TestGuest.newDisk(dir.resolve("small.qcow2"), "qcow2", "16M");
            assertThat(api.post("/v1/vms", CopyGuest.definition("b4", src)).status()).isEqualTo(201);
            Path dst = dir.resolve("dst.qcow2");

            TestHttp.Response r = api.post("/v1/vms/b4/disks/vda/copy", copy(dst));
            assertThat(r.errorCode()).isEqualTo("invalid-state");
            assertThat(r.json().path("error").path("message").asText()).contains("shutoff");

            ok(api.post("/v1/vms/b4/start?wait=true"));
            List<String> before = CopyGuest.files(dir);
            String existingBytes = CopyGuest.run("sha256sum", existing.toString());

            assertThat(api.post("/v1/vms/nope/disks/vda/copy", copy(dst)).errorCode()).isEqualTo("vm-not-found");
            assertThat(api.post("/v1/vms/b4/disks/vdz/copy", copy(dst)).errorCode()).isEqualTo("disk-not-found");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(existing));
            assertThat(r.status()).isEqualTo(409);
            assertThat(r.errorCode()).isEqualTo("destination-exists");
            assertThat(r.json().path("error").path("message").asText()).contains("--reuse-external");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(small).put("reuseExternal", true));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            assertThat(r.json().path("error").path("message").asText()).contains("smaller than the source");
            r = api.post("/v1/vms/b4/disks/vda/copy", JSON.createObjectNode().put("dest", "relative.qcow2"));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            r = api.post("/v1/vms/b4/disks/vda/copy", JSON.createObjectNode().put("dest", dir + "/../escape.qcow2"));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(src).put("reuseExternal", true));
            assertThat(r.json().path("error").path("message").asText()).contains("own image");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(dir.resolve("no-such-dir").resolve("x.qcow2")));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(dst).put("format", "vmdk"));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(dst).put("granularity", 1000));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(dst).put("speed", 5));
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.json().path("error").path("message").asText()).contains("speed");
            r = api.post("/v1/vms/b4/disks/vda/copy", copy(dst).put("pivot", true).put("finish", true));
            assertThat(r.errorCode()).isEqualTo("invalid-argument");
            r = api.post("/v1/vms/b4/disks/vda/job/abort");
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.errorCode()).isEqualTo("no-block-job");
            assertThat(api.post("/v1/vms/b4/disks/vda/job/pivot").errorCode()).isEqualTo("no-block-job");
            assertThat(api.get("/v1/vms/b4/disks/vda/job").errorCode()).isEqualTo("no-block-job");

            // nothing changed: same files, same bytes, same definition, no job, the VM still runs
            assertThat(CopyGuest.files(dir)).isEqualTo(before);
            assertThat(CopyGuest.run("sha256sum", existing.toString())).isEqualTo(existingBytes);
            assertThat(definedPath(api, "b4")).isEqualTo(src.toString());
            assertThat(ok(api.get("/v1/vms/b4/blockjobs")).path("jobs")).isEmpty();
            assertThat(api.get("/v1/vms/b4").json().path("state").asText()).isEqualTo("running");
            ok(api.post("/v1/vms/b4/destroy"));
        }
    }
}
