package io.jvirt.hotplug;

import static io.jvirt.testing.AgentCalls.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Hotplug on one booted tiny guest (192 MiB on 2 NUMA nodes of 128 and 64 MiB, max 2 GiB, 4 slots, 1 of 4 vCPUs, IOThreads io1 and io2,
 * vda on io1), each change asserted from inside the guest (guestinfo on its console): DIMM plug and unplug,
 * virtio-mem resize, balloon, vCPUs 1 -> 3 -> 2, disk attach/write/detach, NIC attach/detach, IOThread hot-add with
 * pinning checked on the host thread, poll-max-ns, config-only and live+config changes, bad input refused with
 * nothing changed, and a daemon kill -9 during a detach that waits for the (paused) guest.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HotplugTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String VM = "hp1";
    static final Duration GUEST = Duration.ofSeconds(60);
    DaemonProcess daemon;
    TestHttp api;
    ConsoleReader console;
    GuestInfo boot;

    @BeforeAll
    void setUp() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        Path vda = TestGuest.newDisk(daemon.root().resolve("vda.raw"), "raw", "16M");
        ObjectNode d = TestGuest.definition(VM).put("memoryMiB", 192);
        d.putArray("disks").addObject().put("name", "vda").put("path", vda.toString()).put("format", "raw").put("iothread", "io1");
        ObjectNode h = d.putObject("hotplug");
        h.put("maxMemoryMiB", 2048).put("memorySlots", 4).put("maxVcpus", 4);
        // the guest's initramfs unpacks on node 0: with 64 MiB there the kernel runs out of memory at boot
        h.putArray("numa").add(node(0, "0-1", 128)).add(node(1, "2-3", 64));
        h.putArray("iothreads").add(JSON.createObjectNode().put("id", "io1")).add(JSON.createObjectNode().put("id", "io2"));
        TestHttp.Response r = api.post("/v1/vms", d);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        ok(api.post("/v1/vms/" + VM + "/start?wait=true"));
        console = GuestConsole.ready(api, VM);
        boot = GuestInfo.read(api, console, VM);
    }

    private static ObjectNode node(int id, String cpus, int mib) {
        return JSON.createObjectNode().put("id", id).put("cpus", cpus).put("memoryMiB", mib);
    }

    @AfterAll
    void tearDown() throws Exception {
        Path log = daemon == null ? null : daemon.stateDir().resolve("owners").resolve(VM).resolve("qemu.log");
        if (log != null && Files.exists(log)) {
            Files.copy(log, Path.of("target", "hotplug-qemu.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (daemon != null) { // kept for a failure's reading (target/ is the build's own)
            try (var logs = Files.list(daemon.root())) {
                for (Path l : logs.filter(f -> f.getFileName().toString().startsWith("daemon-")).toList()) {
                    Files.copy(l, Path.of("target", "hotplug-" + l.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        if (console != null) {
            console.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private JsonNode change(String path, Object body) {
        return HotplugCalls.change(api, VM, path, body);
    }

    private TestHttp.Response refused(String path, Object body) {
        return HotplugCalls.refused(api, VM, path, body);
    }

    private JsonNode view() {
        return ok(api.get("/v1/vms/" + VM + "/hotplug"));
    }

    private JsonNode definition() {
        return ok(api.get("/v1/vms/" + VM)).path("definition");
    }

    @Test
    @Order(1)
    void bootsWithTheDefinedShape() {
        assertThat(boot.ncpus()).isEqualTo(1);
        assertThat(boot.disks()).isEqualTo("vda");
        JsonNode v = view();
        assertThat(v.path("memory").path("bootMiB").asInt()).isEqualTo(192);
        assertThat(v.path("memory").path("maxMiB").asInt()).isEqualTo(2048);
        assertThat(v.path("vcpus").path("plugged").asInt()).isEqualTo(1);
        assertThat(v.path("vcpus").path("max").asInt()).isEqualTo(4);
        assertThat(v.path("iothreads").findValuesAsText("id")).containsExactly("io1", "io2");
        assertThat(v.path("iothreads").get(0).path("disks").get(0).asText()).isEqualTo("vda");
        assertThat(v.path("iothreads").get(0).path("threadId").asLong()).isPositive();
    }

    @Test
    @Order(2)
    void dimmOnNode1GrowsTheGuestAndDetachShrinksIt() throws Exception {
        JsonNode res = change("/memory", Map.of("id", "d1", "sizeMiB", 256, "node", 1));
        assertThat(res.path("details").path("kind").asText()).isEqualTo("dimm");
        GuestInfo grown = GuestInfo.await(api, console, VM, g -> g.memMiB() >= boot.memMiB() + 250, GUEST);
        assertThat(grown.memMiB()).isBetween(boot.memMiB() + 250, boot.memMiB() + 260);
        JsonNode v = view();
        assertThat(v.path("memory").path("slotsUsed").asInt()).isEqualTo(1);
        assertThat(v.path("memory").path("pluggedPerNodeMiB").path("1").asInt()).isEqualTo(256);

        TestHttp.Response r = api.post("/v1/vms/" + VM + "/memory/d1/detach?wait=true", Map.of("options", Map.of("timeoutSeconds", 60)));
        if (r.status() == 200) {
            GuestInfo.await(api, console, VM, g -> g.memMiB() < boot.memMiB() + 10, GUEST);
            assertThat(view().path("memory").path("slotsUsed").asInt()).isZero();
        } else { // the guest's refusal is reported, and the DIMM stays plugged and live
            assertThat(r.errorCode()).isIn("guest-refused", "timeout");
            assertThat(view().path("memory").path("slotsUsed").asInt()).isEqualTo(1);
        }
    }

    @Test
    @Order(3)
    void virtioMemResizesAndTheGuestFollows() throws Exception {
        GuestInfo before = GuestInfo.read(api, console, VM);
        JsonNode res = change("/memory", Map.of("id", "vm1", "kind", "virtio-mem", "sizeMiB", 512, "node", 0,
                "options", Map.of("persistent", true)));
        assertThat(res.path("details").path("guestMiB").asInt()).isZero();
        res = change("/memory/vm1/resize", Map.of("requestedMiB", 256));
        assertThat(res.path("details").path("guestMiB").asInt()).as(res.toString()).isEqualTo(256);
        GuestInfo.await(api, console, VM, g -> g.memMiB() >= before.memMiB() + 250, GUEST);
        res = change("/memory/vm1/resize", Map.of("requestedMiB", 128));
        assertThat(res.path("details").path("guestMiB").asInt()).as(res.toString()).isEqualTo(128);
        GuestInfo.await(api, console, VM, g -> g.memMiB() < before.memMiB() + 140, GUEST);
        JsonNode dev = view().path("memory").path("devices").findParent("requestedMiB");
        assertThat(dev.path("pluggedMiB").asInt()).isEqualTo(128);
        assertThat(definition().path("hotplug").path("memoryDevices").findValuesAsText("id")).contains("vm1");
    }

    @Test
    @Order(4)
    void balloonTo96AndBack() throws InterruptedException {
        JsonNode res = change("/setmem", Map.of("memoryMiB", 96));
        assertThat(res.path("details").path("actualMiB").asInt()).as(res.toString()).isEqualTo(96);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos(); // the guest reports every 2 s from now on
        while (view().path("memory").path("balloonGuestStats").isNull() || view().path("memory").path("balloonGuestStats").isMissingNode()) {
            assertThat(System.nanoTime()).as("the guest's memory stats arrive").isLessThan(deadline);
            Thread.sleep(200);
        }
        assertThat(view().path("memory").path("balloonGuestStats").path("stat-total-memory").asLong()).isPositive();
        int full = view().path("memory").path("bootMiB").asInt(); // the balloon covers boot memory and DIMMs
        res = change("/setmem", Map.of("memoryMiB", full));
        assertThat(res.path("details").path("actualMiB").asInt()).as(res.toString()).isEqualTo(full);
        assertThat(definition().path("memoryMiB").asInt()).as("a live balloon leaves the definition").isEqualTo(192);
    }

    @Test
    @Order(11)
    void vcpusOneToThreeToTwo() throws Exception {
        change("/setvcpus", Map.of("vcpus", 3));
        GuestInfo.await(api, console, VM, g -> g.ncpus() == 3, GUEST);
        assertThat(view().path("vcpus").path("plugged").asInt()).isEqualTo(3);
        change("/setvcpus", Map.of("vcpus", 2, "options", Map.of("timeoutSeconds", 60)));
        GuestInfo.await(api, console, VM, g -> g.ncpus() == 2, GUEST);
        assertThat(view().path("vcpus").path("plugged").asInt()).isEqualTo(2);
        // QEMU 7.2 under TCG aborts on a device_add after a vCPU unplug: refused, the guest lives on
        if ("tcg".equals(TestGuest.accel())) {
            assertThat(refused("/memory", Map.of("id", "late", "sizeMiB", 128)).text()).contains("had a vCPU unplugged");
        }
    }

    @Test
    @Order(5)
    void diskAttachWriteDetach() throws Exception {
        Path vdb = TestGuest.newDisk(daemon.root().resolve("vdb.raw"), "raw", "8M");
        change("/disks", Map.of("target", "vdb", "path", vdb.toString(), "iothread", "io2"));
        GuestInfo.await(api, console, VM, g -> g.disks().contains("vdb"), GUEST);
        GuestConsole.writeAt(api, console, VM, "vdb", 3, "hotpl");
        byte[] b = Files.readAllBytes(vdb);
        assertThat(new String(b, 3 * 512, 5)).isEqualTo("hotpl");
        assertThat(view().path("iothreads").get(1).path("disks").get(0).asText()).isEqualTo("vdb");
        JsonNode res = change("/disks/vdb/detach", Map.of("options", Map.of("timeoutSeconds", 60)));
        assertThat(res.path("details").path("guestMs").asLong()).isNotNegative();
        GuestInfo.await(api, console, VM, g -> !g.disks().contains("vdb"), GUEST);
        assertThat(definition().path("disks").findValuesAsText("name")).containsExactly("vda");
    }

    @Test
    @Order(6)
    void nicAttachDetach() throws Exception {
        change("/nics", Map.of("name", "net1", "type", "user", "mac", "52:54:00:15:00:01"));
        GuestInfo.await(api, console, VM, g -> g.nics().contains("52:54:00:15:00:01"), GUEST);
        change("/nics/net1/detach", Map.of("options", Map.of("timeoutSeconds", 60)));
        GuestInfo.await(api, console, VM, g -> !g.nics().contains("52:54:00:15:00:01"), GUEST);
    }

    @Test
    @Order(7)
    void iothreadHotAddPinnedAndPollMaxNs() throws Exception {
        JsonNode res = change("/iothreads", Map.of("id", "io3", "pinning", "0"));
        long tid = res.path("details").path("threadId").asLong();
        assertThat(tid).isPositive();
        String status = Files.readString(Path.of("/proc/" + tid + "/status"));
        assertThat(status).containsPattern("Cpus_allowed_list:\\s+0\\n");
        change("/iothreads/io1/set", Map.of("pollMaxNs", 12345));
        JsonNode io1 = view().path("iothreads").get(0);
        assertThat(io1.path("id").asText()).isEqualTo("io1");
        assertThat(io1.path("pollMaxNs").asLong()).isEqualTo(12345);
    }

    @Test
    @Order(8)
    void badInputIsRefusedAndNothingChanges() {
        JsonNode before = definition();
        int plugged = view().path("memory").path("pluggedMiB").asInt();
        assertThat(refused("/memory", Map.of("id", "big", "sizeMiB", 2048)).text()).contains("beyond hotplug.maxMemoryMiB");
        assertThat(refused("/memory", Map.of("id", "n9", "sizeMiB", 128, "node", 5)).text()).contains("node 5 does not exist");
        assertThat(refused("/setvcpus", Map.of("vcpus", 5)).text()).contains("maxVcpus 4");
        assertThat(refused("/iothreads/io2/pin", Map.of("cpus", "999")).text()).contains("host CPU 999");
        assertThat(refused("/disks", Map.of("target", "vda", "path", "/etc/hostname")).errorCode()).isEqualTo("disk-in-use");
        for (String id : new String[]{"s1", "s2", "s3", "s4"}) {
            change("/memory", Map.of("id", id, "sizeMiB", 128, "options", Map.of("config", true, "live", false)));
        }
        assertThat(refused("/memory", Map.of("id", "s5", "sizeMiB", 128, "options", Map.of("config", true))).text())
                .contains("do not fit in hotplug.memorySlots 4");
        for (String id : new String[]{"s1", "s2", "s3", "s4"}) {
            change("/memory/" + id + "/detach", Map.of("options", Map.of("config", true)));
        }
        assertThat(definition()).isEqualTo(before);
        assertThat(view().path("memory").path("pluggedMiB").asInt()).isEqualTo(plugged);
    }

    @Test
    @Order(9)
    void configOnlyWaitsForTheNextBootLiveAndConfigDoBoth() throws Exception {
        Path vdc = TestGuest.newDisk(daemon.root().resolve("vdc.raw"), "raw", "8M");
        change("/disks", Map.of("target", "vdc", "path", vdc.toString(), "options", Map.of("config", true)));
        change("/memory", Map.of("id", "p1", "sizeMiB", 128, "node", 0, "options", Map.of("persistent", true)));
        GuestInfo now = GuestInfo.await(api, console, VM, g -> g.memMiB() >= boot.memMiB() + 128 + 120, GUEST);
        assertThat(now.disks()).doesNotContain("vdc");
        assertThat(definition().path("disks").findValuesAsText("name")).containsExactly("vda", "vdc");
        assertThat(definition().path("hotplug").path("memoryDevices").findValuesAsText("id")).containsExactly("vm1", "p1");
        ok(api.post("/v1/vms/" + VM + "/destroy"));
        console.close();
        ok(api.post("/v1/vms/" + VM + "/start?wait=true"));
        console = GuestConsole.ready(api, VM);
        GuestInfo next = GuestInfo.read(api, console, VM);
        assertThat(next.disks()).as("the guest names its second disk vdb (jvirt's vdc)").isEqualTo("vda,vdb");
        assertThat(view().path("disks").toString()).contains("vdc");
        // p1 (128 MiB DIMM) comes back at boot; vm1 too, with what its definition requests (0: the resizes were live)
        GuestInfo.await(api, console, VM, g -> g.memMiB() >= boot.memMiB() + 120, GUEST);
        assertThat(view().path("memory").path("devices").findValuesAsText("id")).containsExactlyInAnyOrder("vm1", "p1");
    }

    @Test
    @Order(10)
    void daemonKilledDuringADetachThatWaitsForTheGuest() throws Exception {
        // vdc came up at boot on q35's root bus, which cannot unplug: refused, it stays
        assertThat(refused("/disks/vdc/detach", Map.of()).text()).contains("cannot unplug a device");
        Path vdd = TestGuest.newDisk(daemon.root().resolve("vdd.raw"), "raw", "8M");
        change("/disks", Map.of("target", "vdd", "path", vdd.toString(), "options", Map.of("persistent", true)));
        GuestInfo.await(api, console, VM, g -> g.disks().equals("vda,vdb,vdc"), GUEST);
        ok(api.post("/v1/vms/" + VM + "/suspend"));
        TestHttp.Response started = api.post("/v1/vms/" + VM + "/disks/vdd/detach",
                Map.of("options", Map.of("persistent", true, "timeoutSeconds", 300)));
        assertThat(started.status()).as(started.toString()).isEqualTo(202);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (view().path("pending").isEmpty()) {
            assertThat(System.nanoTime()).as("the pending unplug is recorded").isLessThan(deadline);
            Thread.sleep(50);
        }
        console.close();
        daemon.kill9();
        daemon.restart();
        api = daemon.http();
        JsonNode v = view();
        assertThat(v.path("pending").findValuesAsText("name")).containsExactly("vdd");
        assertThat(v.path("disks").toString()).contains("vdd");
        ok(api.post("/v1/vms/" + VM + "/resume"));
        deadline = System.nanoTime() + GUEST.toNanos();
        while (!view().path("pending").isEmpty()) {
            assertThat(System.nanoTime()).as("DEVICE_DELETED finishes the unplug").isLessThan(deadline);
            Thread.sleep(100);
        }
        assertThat(view().path("disks").toString()).doesNotContain("vdd");
        assertThat(definition().path("disks").findValuesAsText("name")).containsExactly("vda", "vdc");
        console = new ConsoleReader(api, VM);
        GuestInfo.await(api, console, VM, g -> g.disks().equals("vda,vdb"), GUEST);
    }
}
