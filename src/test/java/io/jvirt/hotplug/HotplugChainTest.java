package io.jvirt.hotplug;

import static io.jvirt.testing.AgentCalls.ok;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.Command;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
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
 * Live attach-disk with a backing chain on the confined daemon (issues 15 and 12), one booted tiny guest: a qcow2
 * overlay on a raw base is attached with its whole checked chain, the guest reads the base's data through it and
 * writes to the overlay only; after detach every node of the chain is gone (the same overlay attaches again). A
 * qcow2 whose header names /etc/shadow, or another VM's writable disk, as its backing file is refused
 * (path-not-allowed, disk-in-use) with the definition and the guest unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HotplugChainTest {
    static final String VM = "hpc1";
    static final Duration GUEST = Duration.ofSeconds(60);
    DaemonProcess daemon;
    TestHttp api;
    ConsoleReader console;
    Path base;
    Path overlay;

    @BeforeAll
    void setUp() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        Path vda = TestGuest.newDisk(daemon.root().resolve("vda.raw"), "raw", "16M");
        ObjectNode d = TestGuest.definition(VM);
        d.putArray("disks").addObject().put("name", "vda").put("path", vda.toString()).put("format", "raw");
        TestHttp.Response r = api.post("/v1/vms", d);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        ok(api.post("/v1/vms/" + VM + "/start?wait=true"));
        console = GuestConsole.ready(api, VM);
        base = TestGuest.newDisk(daemon.root().resolve("base.raw"), "raw", "8M");
        try (RandomAccessFile f = new RandomAccessFile(base.toFile(), "rw")) {
            f.seek(5 * 512);
            f.write("based".getBytes(StandardCharsets.US_ASCII));
        }
        overlay = daemon.root().resolve("top.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "raw", overlay.toString(), "8M");
    }

    @AfterAll
    void tearDown() throws Exception {
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

    private String cli(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("--socket", daemon.socket().toString()));
        argv.addAll(java.util.List.of(args));
        int code = io.jvirt.cli.JvirtCli.run(argv.toArray(String[]::new), new java.io.PrintStream(out, true),
                new java.io.PrintStream(err, true));
        assertThat(code).as("jvirt %s: %s", String.join(" ", args), err.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    private JsonNode definition() {
        return ok(api.get("/v1/vms/" + VM)).path("definition");
    }

    @Test
    @Order(1)
    void overlayOnBaseIsAttachedWithItsChainReadThroughAndWrittenOnTop() throws Exception {
        // QEMU runs as its own uid: it reads the base only because the attach granted it (READ) and named it
        JsonNode confinement = api.get("/v1/host").json().path("confinement");
        assertThat(confinement.path("mode").asText()).as(confinement.toString()).isEqualTo("per-vm-uid");
        JsonNode res = change("/disks", Map.of("target", "vdb", "path", overlay.toString(), "format", "qcow2"));
        assertThat(res.path("details").path("chain").get(0).asText()).isEqualTo(overlay.toRealPath().toString());
        assertThat(res.path("details").path("chain").get(1).asText()).isEqualTo(base.toRealPath().toString());
        GuestInfo.await(api, console, VM, g -> g.disks().contains("vdb"), GUEST);
        GuestConsole.expectAt(api, console, VM, "vdb", 5, "based"); // the base's data, through the explicit chain
        GuestConsole.writeAt(api, console, VM, "vdb", 7, "overw");
        GuestConsole.expectAt(api, console, VM, "vdb", 7, "overw");

        change("/disks/vdb/detach", Map.of("options", Map.of("timeoutSeconds", 60)));
        GuestInfo.await(api, console, VM, g -> !g.disks().contains("vdb"), GUEST);
        byte[] baseNow = Files.readAllBytes(base);
        assertThat(new String(baseNow, 7 * 512, 5, StandardCharsets.US_ASCII)).isNotEqualTo("overw"); // the base is read-only
        Path flat = daemon.root().resolve("flat.raw");
        Command.ok("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", overlay.toString(), flat.toString());
        byte[] all = Files.readAllBytes(flat);
        assertThat(new String(all, 7 * 512, 5, StandardCharsets.US_ASCII)).isEqualTo("overw");
        assertThat(new String(all, 5 * 512, 5, StandardCharsets.US_ASCII)).isEqualTo("based");

        // every node of the chain was removed at detach: the same node names are free again
        change("/disks", Map.of("target", "vdb", "path", overlay.toString(), "format", "qcow2"));
        GuestInfo.await(api, console, VM, g -> g.disks().contains("vdb"), GUEST);
        GuestConsole.expectAt(api, console, VM, "vdb", 7, "overw");
        change("/disks/vdb/detach", Map.of("options", Map.of("timeoutSeconds", 60)));
        GuestInfo.await(api, console, VM, g -> !g.disks().contains("vdb"), GUEST);
    }

    @Test
    @Order(2)
    void backingOnShadowOrOnAnotherVmsDiskIsRefusedAndNothingChanges() throws Exception {
        JsonNode before = definition();
        GuestInfo guestBefore = GuestInfo.read(api, console, VM);

        Path evil = daemon.root().resolve("evil.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw", evil.toString(), "8M");
        TestHttp.Response r = refused("/disks", Map.of("target", "vdc", "path", evil.toString(), "format", "qcow2"));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("path-not-allowed");
        assertThat(r.text()).contains("/etc/shadow");

        Path theirs = TestGuest.newDisk(daemon.root().resolve("theirs.raw"), "raw", "8M");
        ObjectNode other = TestGuest.definition("hpc2");
        other.putArray("disks").addObject().put("name", "vda").put("path", theirs.toString()).put("format", "raw");
        TestHttp.Response defined = api.post("/v1/vms", other);
        assertThat(defined.status()).as(defined.toString()).isEqualTo(201);
        Path onTheirs = daemon.root().resolve("on-theirs.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", theirs.toString(), "-F", "raw", onTheirs.toString(), "8M");
        r = refused("/disks", Map.of("target", "vdc", "path", onTheirs.toString(), "format", "qcow2"));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("disk-in-use");
        assertThat(r.text()).contains("hpc2");
        // their disk itself, writable, is refused too
        r = refused("/disks", Map.of("target", "vdc", "path", theirs.toString()));
        assertThat(r.errorCode()).as(r.toString()).isEqualTo("disk-in-use");

        assertThat(definition()).isEqualTo(before);
        assertThat(GuestInfo.read(api, console, VM).disks()).isEqualTo(guestBefore.disks());
        assertThat(ok(api.get("/v1/vms/" + VM + "/hotplug")).toString()).doesNotContain("vdc");
    }

    @Test
    @Order(3)
    void aPoolVolumeIsAttachedByNameWithItsFormat() throws Exception {
        TestHttp.Response created = api.post("/v1/pools/default/volumes", Map.of("name", "hp-vol", "format", "qcow2", "size", "8M"));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        JsonNode vol = created.json();
        String volPath = vol.path("path").asText();
        JsonNode before = definition();
        assertThat(refused("/disks", Map.of("target", "vdd", "volume", "default/no-such")).status()).isEqualTo(404);
        assertThat(refused("/disks", Map.of("target", "vdd", "volume", "no-pool/hp-vol")).errorCode()).isEqualTo("pool-not-found");
        assertThat(refused("/disks", Map.of("target", "vdd", "volume", "hp-vol")).errorCode()).isEqualTo("invalid-argument");
        assertThat(refused("/disks", Map.of("target", "vdd", "volume", "default/hp-vol", "path", volPath)).errorCode())
                .isEqualTo("invalid-argument");
        assertThat(definition()).isEqualTo(before);

        cli("attach-disk", VM, "--volume", "default/hp-vol", "--target", "vdd", "--persistent"); // the CLI's way
        JsonNode vdd = ok(api.get("/v1/vms/" + VM + "/hotplug")); // the live view lists it
        assertThat(vdd.toString()).contains("vdd");
        assertThat(definition().path("disks").get(1).path("path").asText()).isEqualTo(Path.of(volPath).toRealPath().toString());
        assertThat(definition().path("disks").get(1).path("format").asText()).isEqualTo("qcow2"); // the volume's, not raw
        // the guest's kernel names its disks in order: the second virtio disk it has is its vdb
        GuestInfo.await(api, console, VM, g -> g.disks().contains("vdb"), GUEST);
        GuestConsole.writeAt(api, console, VM, "vdb", 2, "volum");
        GuestConsole.expectAt(api, console, VM, "vdb", 2, "volum");
        change("/disks/vdd/detach", Map.of("options", Map.of("timeoutSeconds", 60, "persistent", true)));
        GuestInfo.await(api, console, VM, g -> !g.disks().contains("vdb"), GUEST);
        Command.ok("qemu-io", "-f", "qcow2", "-r", "-U", "-c", "read -P 0x76 1024 1", volPath); // 'v' of "volum", in the volume
        assertThat(definition().path("disks").findValuesAsText("name")).containsExactly("vda");
    }
}
