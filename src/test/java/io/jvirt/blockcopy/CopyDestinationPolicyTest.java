package io.jvirt.blockcopy;

import static io.jvirt.blockcopy.CopyGuest.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A block copy's destination is put through the path policy before anything is created (issue 12): a destination
 * in a system directory, in jvirt's state directory or outside every pool and allowed directory is refused with
 * path-not-allowed naming the rule, and nothing is ever created there (watched with inotify during the request,
 * not only looked for afterwards: a file made and removed again would be a file QEMU's uid could have been
 * handed).
 */
class CopyDestinationPolicyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void refusedDestinationsLeaveNoFileAndNoDirectoryBehind() throws Exception {
        Path outside = Files.createTempDirectory(Path.of("/var/tmp"), "jvirt-gaps-");
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "16M");
            assertThat(api.post("/v1/vms", CopyGuest.definition("b6", src)).status()).isEqualTo(201);
            ok(api.post("/v1/vms/b6/start?wait=true"));

            String name = "jvirt-copy-probe-" + ProcessHandle.current().pid() + ".qcow2";
            refusedWithNothingCreated(api, Path.of("/etc"), name, "system-directory");
            refusedWithNothingCreated(api, daemon.stateDir(), name, "state-directory");
            refusedWithNothingCreated(api, outside, name, "outside-pools");
            try (var left = Files.list(outside)) {
                assertThat(left.toList()).isEmpty();
            }
            // a directory that does not exist is not made
            TestHttp.Response r = api.post("/v1/vms/b6/disks/vda/copy",
                    JSON.createObjectNode().put("dest", outside.resolve("sub").resolve(name).toString()));
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(outside.resolve("sub")).doesNotExist();

            // the same copy into an allowed directory works: the check is not a blanket refusal
            Path good = dir.resolve("dst.qcow2");
            r = api.post("/v1/vms/b6/disks/vda/copy", JSON.createObjectNode().put("dest", good.toString()));
            assertThat(r.status()).as(r.toString()).isLessThan(300);
            assertThat(good).exists();
            ok(api.post("/v1/vms/b6/disks/vda/job/abort"));
            ok(api.post("/v1/vms/b6/destroy"));
        } finally {
            try (var left = Files.list(outside)) {
                for (Path p : left.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(outside);
        }
    }

    private static void refusedWithNothingCreated(TestHttp api, Path where, String name, String rule) throws Exception {
        Path dest = where.resolve(name);
        try (WatchService w = FileSystems.getDefault().newWatchService()) {
            where.register(w, StandardWatchEventKinds.ENTRY_CREATE);
            TestHttp.Response r = api.post("/v1/vms/b6/disks/vda/copy", JSON.createObjectNode().put("dest", dest.toString()));
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(r.errorCode()).as(r.toString()).isEqualTo("path-not-allowed");
            assertThat(r.text()).contains("rule " + rule);
            List<String> created = new ArrayList<>();
            WatchKey k = w.poll(300, TimeUnit.MILLISECONDS); // events of the request, already queued by now
            while (k != null) {
                k.pollEvents().forEach(e -> created.add(String.valueOf(e.context())));
                k.reset();
                k = w.poll(100, TimeUnit.MILLISECONDS);
            }
            assertThat(created).as("created in " + where).doesNotContain(name);
        }
        assertThat(dest).doesNotExist();
    }
}
