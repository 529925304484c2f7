package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.Command;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a definition may name, through the real API: files outside pools and allowed directories, system files and
 * the state directory are refused naming the rule; a qcow2 whose header names a file jvirt did not allow (or another
 * VM's disk) is refused at define and at start; two VMs never get one writable disk; no pool over /etc.
 */
class PathPolicyApiTest {
    static DaemonProcess daemon;
    static TestHttp api;
    static Path outside;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        outside = Files.createTempDirectory(Path.of("/var/tmp"), "jvirt-outside-");
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (outside != null) {
            Command.run(List.of("rm", "-rf", outside.toString()));
        }
    }

    static ObjectNode withDisk(String vm, String path, String format) {
        ObjectNode d = TestGuest.definition(vm);
        d.putArray("disks").addObject().put("name", "vda").put("path", path).put("format", format);
        return d;
    }

    static void assertRefused(TestHttp.Response r, int status, String code, String rule) {
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.errorCode()).isEqualTo(code);
        if (rule != null) {
            assertThat(r.json().path("error").path("details").path("rule").asText()).as(r.toString()).isEqualTo(rule);
            assertThat(r.json().path("error").path("message").asText()).contains("[rule " + rule + "]");
        }
    }

    @Test
    void filesOutsidePoolsAndSystemFilesAreRefusedNamingTheRule() throws Exception {
        Path far = TestGuest.newDisk(outside.resolve("far.qcow2"), "qcow2", "16M");
        assertRefused(api.post("/v1/vms", withDisk("p1", far.toString(), "qcow2")), 400, "path-not-allowed", "outside-pools");
        assertRefused(api.post("/v1/vms", withDisk("p1", "/etc/shadow", "raw")), 400, "path-not-allowed", "system-directory");
        // a block device (the host's own disk): /dev/sda where there is one
        String device = List.of("/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/loop0").stream()
                .filter(p -> Files.exists(Path.of(p))).findFirst().orElseThrow();
        assertRefused(api.post("/v1/vms", withDisk("p1", device, "raw")), 400, "path-not-allowed", "system-directory");
        assertRefused(api.post("/v1/vms", withDisk("p1", "/proc/self/environ", "raw")), 400, "path-not-allowed", "system-directory");
        Path doc = daemon.stateDir().resolve("accel-probe.json");
        if (!Files.exists(doc)) {
            doc = Files.list(daemon.stateDir()).filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        assertRefused(api.post("/v1/vms", withDisk("p1", doc.toString(), "raw")), 400, "path-not-allowed", "state-directory");
        ObjectNode kernel = TestGuest.definition("p1");
        ((ObjectNode) kernel.path("boot")).put("kernel", "/etc/passwd");
        assertRefused(api.post("/v1/vms", kernel), 400, "path-not-allowed", "system-directory");
        assertThat(api.get("/v1/vms/p1").status()).isEqualTo(404);
    }

    @Test
    void aBackingFileNamedByTheHeaderIsCheckedAtDefineAndAtStart() throws Exception {
        Path evil = daemon.root().resolve("evil.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", evil.toString(), "16M");
        TestHttp.Response r = api.post("/v1/vms", withDisk("p2", evil.toString(), "qcow2"));
        assertRefused(r, 400, "path-not-allowed", "system-directory");
        assertThat(r.text()).contains("/etc/shadow");

        // a clean image at define, its header rewritten while the VM is off: refused at start, nothing runs
        Path later = TestGuest.newDisk(daemon.root().resolve("later.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", withDisk("p3", later.toString(), "qcow2")).status()).isEqualTo(201);
        Command.ok("qemu-img", "rebase", "-q", "-u", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", later.toString());
        TestHttp.Response start = api.post("/v1/vms/p3/start?wait=true");
        assertRefused(start, 400, "path-not-allowed", "system-directory");
        assertThat(api.get("/v1/vms/p3").json().path("state").asText()).isEqualTo("shutoff");
        assertThat(daemon.qemuPids()).isEmpty();
        assertThat(api.delete("/v1/vms/p3").status()).isEqualTo(200);
    }

    @Test
    void twoVmsNeverShareAWritableDisk() throws Exception {
        Path disk = TestGuest.newDisk(daemon.root().resolve("shared.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", withDisk("owner", disk.toString(), "qcow2")).status()).isEqualTo(201);
        TestHttp.Response second = api.post("/v1/vms", withDisk("thief", disk.toString(), "qcow2"));
        assertRefused(second, 409, "disk-in-use", null);
        assertThat(second.json().path("error").path("details").path("vm").asText()).isEqualTo("owner");
        // nor as the backing file of an overlay (the header names another VM's writable disk)
        Path overlay = daemon.root().resolve("overlay.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", disk.toString(), "-F", "qcow2", overlay.toString());
        assertRefused(api.post("/v1/vms", withDisk("thief", overlay.toString(), "qcow2")), 409, "disk-in-use", null);
        // a symbolic link does not hide it
        Path link = Files.createSymbolicLink(daemon.root().resolve("alias.qcow2"), disk);
        assertRefused(api.post("/v1/vms", withDisk("thief", link.toString(), "qcow2")), 409, "disk-in-use", null);
        assertThat(api.get("/v1/vms/thief").status()).isEqualTo(404);
        assertThat(api.delete("/v1/vms/owner").status()).isEqualTo(200);
    }

    @Test
    void aBlockCopyDestinationFollowsTheSameRules() throws Exception {
        Path disk = TestGuest.newDisk(daemon.root().resolve("copied.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", withDisk("copier", disk.toString(), "qcow2")).status()).isEqualTo(201);
        assertThat(api.post("/v1/vms/copier/start?wait=true").status()).isEqualTo(200);
        try {
            Path dest = outside.resolve("copy.qcow2"); // outside pools and allowed directories
            TestHttp.Response r = api.post("/v1/vms/copier/disks/vda/copy", Map.of("dest", dest.toString()));
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(r.text()).contains("outside-pools");
            assertThat(api.get("/v1/vms/copier/blockjobs").json().path("jobs").size()).isZero();
        } finally {
            assertThat(api.post("/v1/vms/copier/destroy").status()).isEqualTo(200);
        }
    }

    @Test
    void noPoolOverASystemDirectory() {
        for (String dir : List.of("/etc", "/usr/lib", "/var", "/")) {
            TestHttp.Response r = api.post("/v1/pools", Map.of("name", "sys", "path", dir));
            assertThat(r.status()).as(dir + " " + r).isEqualTo(400);
            assertThat(r.text()).containsAnyOf("system directory", "root directory");
        }
        assertThat(api.get("/v1/pools/sys").status()).isEqualTo(404);
    }
}
