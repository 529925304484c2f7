package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.Command;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real QEMUs started by a real jvirtd, each as a uid of its own: seccomp on, no capabilities; from inside one
 * QEMU's identity another VM's disk and the state directory cannot be opened; every file's owner, mode and ACL
 * come back exactly after destroy, and after kill -9 of the daemon (QEMU killed while no daemon ran) plus restart.
 */
class ConfinedVmTest {
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    static Path define(String name) throws java.io.IOException {
        Path disk = TestGuest.newDisk(daemon.root().resolve(name + ".qcow2"), "qcow2", "16M");
        // private, as jvirt creates volumes: QEMU may pass the directory (search only), so a world-readable
        // file in it would be readable by any user on the host, QEMUs included
        io.jvirt.files.FileModes.setMode(disk, 0600);
        var d = TestGuest.definition(name);
        d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
        TestHttp.Response r = api.post("/v1/vms", d);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return disk;
    }

    static long startAndPid(String name) {
        TestHttp.Response r = api.post("/v1/vms/" + name + "/start?wait=true");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return api.get("/v1/vms/" + name).json().path("runtime").path("pid").asLong();
    }

    static Map<String, String> status(long pid) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            int c = line.indexOf(':');
            m.put(line.substring(0, c), line.substring(c + 1).strip());
        }
        return m;
    }

    /** Owner, mode, inode and ACL: what must come back after jvirt took its grants back. */
    static String access(Path p) {
        return Command.ok("stat", "-c", "%u:%g %a %i", p.toString()) + Command.ok("getfacl", "-cp", p.toString());
    }

    static Map<Path, String> accessOf(List<Path> files) {
        Map<Path, String> m = new LinkedHashMap<>();
        files.forEach(f -> m.put(f, access(f)));
        return m;
    }

    /** Tries to open {@code file} for reading as {@code uid} (QEMU's identity), as QEMU would. */
    static Command.Result readAs(int uid, Path file) {
        return Command.run(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--", "head",
                "-c", "1", file.toString()));
    }

    @Test
    void eachQemuRunsAsItsOwnUidWithSeccompAndOnlyItsFiles() throws Exception {
        JsonNode confinement = api.get("/v1/host").json().path("confinement");
        assertThat(confinement.path("mode").asText()).as(confinement.toString()).isEqualTo("per-vm-uid");
        assertThat(confinement.path("highPrivileges").asBoolean()).isFalse();

        Path diskA = define("ca");
        Path diskB = define("cb");
        Path stateDoc = daemon.stateDir().resolve("owners/ca/definition.json");
        List<Path> watched = new ArrayList<>(List.of(diskA, diskB, TestGuest.kernel().toRealPath(),
                TestGuest.initrd().toRealPath(), daemon.root(), daemon.stateDir(), Path.of("/root")));
        Map<Path, String> before = accessOf(watched);

        long pidA = startAndPid("ca");
        long pidB = startAndPid("cb");
        Map<String, String> a = status(pidA);
        Map<String, String> b = status(pidB);
        int uidA = Integer.parseInt(a.get("Uid").split("\\s+")[0]);
        int uidB = Integer.parseInt(b.get("Uid").split("\\s+")[0]);
        int[] range = daemon.qemuUids();
        assertThat(uidA).isBetween(range[0], range[1]).isNotEqualTo(uidB);
        assertThat(uidB).isBetween(range[0], range[1]);
        assertThat(a.get("Uid")).isEqualTo(uidA + "\t" + uidA + "\t" + uidA + "\t" + uidA);
        assertThat(a.get("Gid").split("\\s+")[0]).isEqualTo(Integer.toString(uidA));
        assertThat(a.get("Seccomp")).isEqualTo("2");
        assertThat(a.get("NoNewPrivs")).isEqualTo("1");
        assertThat(a.get("CapEff")).isEqualTo("0000000000000000");
        assertThat(b.get("Seccomp")).isEqualTo("2");
        assertThat(Command.ok("getfacl", "-cp", diskA.toString())).contains("user:" + uidA + ":rw-").doesNotContain("user:" + uidB);

        // from inside A's identity: its own disk yes (the control), B's disk and the state directory no
        assertThat(readAs(uidA, diskA).exit()).as(readAs(uidA, diskA).output()).isZero();
        Command.Result other = readAs(uidA, diskB);
        assertThat(other.exit()).as(other.output() + access(diskB) + uidA + " " + uidB).isNotZero();
        assertThat(other.output()).contains("Permission denied");
        assertThat(readAs(uidA, stateDoc).output()).contains("Permission denied");
        assertThat(readAs(uidA, daemon.stateDir().resolve("labels/ledger.json")).output()).contains("Permission denied");
        // the uid allocation is durable: the ledger records each grant with its uid before QEMU starts
        String ledger = Files.readString(daemon.stateDir().resolve("labels/ledger.json"));
        assertThat(ledger).contains("\"uid\" : " + uidA).contains("\"ca\" : ");

        // destroy: A's files come back exactly; B keeps its own
        assertThat(api.post("/v1/vms/ca/destroy").status()).isEqualTo(200);
        DaemonProcess.awaitGone(pidA, Duration.ofSeconds(10));
        assertThat(access(diskA)).isEqualTo(before.get(diskA));
        assertThat(Command.ok("getfacl", "-cp", diskB.toString())).contains("user:" + uidB + ":rw-");

        // kill -9 of the daemon, B's QEMU killed while no daemon runs, restart: B's files come back too
        daemon.kill9();
        ProcessHandle.of(pidB).ifPresent(ProcessHandle::destroyForcibly);
        DaemonProcess.awaitGone(pidB, Duration.ofSeconds(10));
        daemon.restart();
        assertThat(accessOf(watched)).isEqualTo(before);
        assertThat(Files.readString(daemon.stateDir().resolve("labels/ledger.json"))).doesNotContain("\"cb\"");
        assertThat(api.get("/v1/vms/cb").json().path("state").asText()).isIn("shutoff", "crashed");
    }

    @Test
    void aRestartedDaemonKeepsTheGrantsOfARunningQemu() throws Exception {
        Path disk = define("cc");
        String before = access(disk);
        long pid = startAndPid("cc");
        int uid = Integer.parseInt(status(pid).get("Uid").split("\\s+")[0]);
        daemon.kill9();
        daemon.restart();
        assertThat(api.get("/v1/vms/cc").json().path("state").asText()).isEqualTo("running");
        assertThat(Command.ok("getfacl", "-cp", disk.toString())).contains("user:" + uid + ":rw-");
        assertThat(readAs(uid, disk).exit()).isZero();
        assertThat(api.post("/v1/vms/cc/destroy").status()).isEqualTo(200);
        DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));
        assertThat(access(disk)).isEqualTo(before);
    }
}
