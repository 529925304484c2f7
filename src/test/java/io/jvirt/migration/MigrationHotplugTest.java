package io.jvirt.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.hotplug.GuestInfo;
import io.jvirt.hotplug.HotplugCalls;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A VM changed while it runs migrates as it is (issues 14 and 15): a hot-added 256 MiB DIMM and a hot-added disk are
 * there on the destination, in QEMU's view and in the guest's, and the guest keeps using the disk it got live.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MigrationHotplugTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String VM = "hpm";
    TwoHosts hosts;

    @BeforeAll
    void start() throws Exception {
        hosts = TwoHosts.start();
    }

    @AfterAll
    void stop() {
        if (hosts != null) {
            hosts.close();
        }
    }

    @Test
    void aHotAddedDimmAndDiskMigrateWithTheVm() throws Exception {
        TestHttp a = hosts.apiA();
        TestHttp b = hosts.apiB();
        Path vda = TestGuest.newDisk(hosts.dir.resolve("hpm-vda.raw"), "raw", "16M");
        Path vdb = TestGuest.newDisk(hosts.dir.resolve("hpm-vdb.raw"), "raw", "8M");
        ObjectNode d = TestGuest.definition(VM).put("memoryMiB", 192);
        d.putArray("disks").addObject().put("name", "vda").put("path", vda.toString()).put("format", "raw");
        d.putObject("hotplug").put("maxMemoryMiB", 1024).put("memorySlots", 2);
        assertThat(a.post("/v1/vms", d).status()).isEqualTo(201);
        MigrationTest.ok(a.post("/v1/vms/" + VM + "/start?wait=true"));
        GuestInfo before;
        try (ConsoleReader console = GuestConsole.ready(a, VM)) {
            before = GuestInfo.read(a, console, VM);
            HotplugCalls.change(a, VM, "/memory", Map.of("id", "d1", "sizeMiB", 256));
            HotplugCalls.change(a, VM, "/disks", Map.of("target", "vdb", "path", vdb.toString(), "format", "raw"));
            GuestInfo plugged = GuestInfo.await(a, console, VM, g -> g.memKb() > before.memKb() + 200 * 1024
                    && g.disks().contains("vdb"), Duration.ofSeconds(60));
            assertThat(plugged.disks()).contains("vdb");
        }

        JsonNode op = MigrationTest.waitOp(a, a.post("/v1/vms/" + VM + "/migration", MigrationTest.body(TwoHosts.toB())));
        assertThat(op.path("status").asText()).as(op.toString()).isEqualTo("success");
        assertThat(a.get("/v1/vms/" + VM).status()).as("undefined on the source").isEqualTo(404);

        // QEMU's view on B: the DIMM and the disk are plugged there
        JsonNode view = b.get("/v1/vms/" + VM + "/hotplug").json();
        assertThat(view.path("memory").path("devices").findValuesAsText("id")).as(view.toString()).contains("d1");
        assertThat(view.path("disks").toString()).contains("vdb");
        // the guest's view on B: the memory it had onlined and the disk, which it can still write
        // (the guest booted on A: B's console has no ready line, the shell answers at once)
        try (ConsoleReader console = new ConsoleReader(b, VM)) {
            GuestInfo there = GuestInfo.read(b, console, VM);
            assertThat(there.memKb()).isGreaterThan(before.memKb() + 200 * 1024);
            assertThat(there.disks()).contains("vdb");
            GuestConsole.writeAt(b, console, VM, "vdb", 3, "MIGRD");
        }
        MigrationTest.ok(b.post("/v1/vms/" + VM + "/destroy"));
        byte[] sector = java.util.Arrays.copyOfRange(Files.readAllBytes(vdb), 3 * 512, 3 * 512 + 5);
        assertThat(new String(sector, java.nio.charset.StandardCharsets.US_ASCII)).as("written on B through the "
                + "disk hot-added on A").isEqualTo("MIGRD");
    }

}
