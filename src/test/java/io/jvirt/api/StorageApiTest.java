package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Pools and volumes through the API of a real daemon, with real qemu-img and (once) a real guest. */
class StorageApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static DaemonProcess daemon;
    static TestHttp api;
    static Path pool;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        pool = daemon.stateDir().resolve("pools/default");
    }

    @AfterAll
    static void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
    }

    static ObjectNode vol(String name, String format, String size) {
        ObjectNode n = JSON.createObjectNode().put("name", name).put("format", format);
        if (size != null) {
            n.put("size", size);
        }
        return n;
    }

    static TestHttp.Response create(ObjectNode body) {
        return api.post("/v1/pools/default/volumes", body);
    }

    static JsonNode created(ObjectNode body) {
        TestHttp.Response r = create(body);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json();
    }

    /** Name, size and modification time of every file in the pool: "nothing changed" means this is equal. */
    static Map<String, String> poolState() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> files = Files.list(pool)) {
            for (Path f : files.toList()) {
                m.put(f.getFileName().toString(), Files.size(f) + "@" + Files.getLastModifiedTime(f).toMillis());
            }
        }
        return m;
    }

    static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor();
            throw new AssertionError(List.of(cmd) + " timed out");
        }
        return p.exitValue();
    }

    @Test
    void defaultPoolExistsOutOfTheBox() {
        JsonNode pools = api.get("/v1/pools").json();
        assertThat(pools).anySatisfy(p -> {
            assertThat(p.path("name").asText()).isEqualTo("default");
            assertThat(p.path("path").asText()).isEqualTo(pool.toAbsolutePath().normalize().toString());
        });
        assertThat(Files.isDirectory(pool)).isTrue();
        assertThat(api.get("/v1/pools/default").json().path("available").asLong()).isPositive();
    }

    @Test
    void createsQcow2AndRawVolumesWithTheirSize() throws Exception {
        JsonNode q = created(vol("size-q.qcow2", "qcow2", "64M"));
        assertThat(q.path("format").asText()).isEqualTo("qcow2");
        assertThat(q.path("virtualSize").asLong()).isEqualTo(64L << 20);
        assertThat(q.path("allocation").asLong()).isPositive();
        assertThat(q.has("backingFile")).isFalse();
        assertThat(Files.isRegularFile(pool.resolve("size-q.qcow2"))).isTrue();

        JsonNode r = created(vol("size-r.raw", "raw", "2M"));
        assertThat(r.path("format").asText()).isEqualTo("raw");
        assertThat(r.path("virtualSize").asLong()).isEqualTo(2L << 20);
        assertThat(Files.size(pool.resolve("size-r.raw"))).isEqualTo(2L << 20);

        JsonNode info = api.get("/v1/pools/default/volumes/size-q.qcow2").json();
        assertThat(info.path("virtualSize").asLong()).isEqualTo(64L << 20);
        assertThat(info.path("path").asText()).isEqualTo(pool.resolve("size-q.qcow2").toAbsolutePath().normalize().toString());
        JsonNode list = api.get("/v1/pools/default/volumes").json();
        assertThat(list.findValuesAsText("name")).contains("size-q.qcow2", "size-r.raw");
        // qemu-img agrees independently
        assertThat(run("qemu-img", "check", "-q", pool.resolve("size-q.qcow2").toString())).isZero();
    }

    @Test
    void overlayWithExplicitBackingFormatShowsTheChain() throws Exception {
        created(vol("chain-base.raw", "raw", "4M"));
        ObjectNode o = vol("chain-top.qcow2", "qcow2", null).put("backing", "chain-base.raw").put("backingFormat", "raw");
        JsonNode top = created(o);
        assertThat(top.path("backingFile").asText()).isEqualTo("chain-base.raw");
        assertThat(top.path("backingFormat").asText()).isEqualTo("raw");
        assertThat(top.path("virtualSize").asLong()).isEqualTo(4L << 20);
        assertThat(top.path("backingChain")).hasSize(1);
        assertThat(top.path("backingChain").get(0).path("path").asText()).endsWith("chain-base.raw");
        assertThat(top.path("backingChain").get(0).path("format").asText()).isEqualTo("raw");

        // a backing format that is not the backing volume's is refused: the chain would be read wrongly
        Map<String, String> before = poolState();
        TestHttp.Response wrong = create(vol("chain-wrong.qcow2", "qcow2", null).put("backing", "chain-base.raw")
                .put("backingFormat", "qcow2"));
        assertThat(wrong.errorCode()).as(wrong.toString()).isEqualTo("invalid-volume");
        assertThat(wrong.json().path("error").path("message").asText()).contains("is raw");
        assertThat(poolState()).isEqualTo(before);
    }

    @Test
    void growsButRefusesToShrink() throws Exception {
        created(vol("grow.qcow2", "qcow2", "16M"));
        TestHttp.Response grown = api.post("/v1/pools/default/volumes/grow.qcow2/resize", Map.of("size", "32M"));
        assertThat(grown.status()).as(grown.toString()).isEqualTo(200);
        assertThat(grown.json().path("virtualSize").asLong()).isEqualTo(32L << 20);

        Map<String, String> before = poolState();
        TestHttp.Response shrink = api.post("/v1/pools/default/volumes/grow.qcow2/resize", Map.of("size", "8M"));
        assertThat(shrink.status()).isEqualTo(400);
        assertThat(shrink.errorCode()).isEqualTo("invalid-volume");
        assertThat(shrink.json().path("error").path("message").asText()).contains("shrinking").contains("refused");
        assertThat(api.get("/v1/pools/default/volumes/grow.qcow2").json().path("virtualSize").asLong()).isEqualTo(32L << 20);
        assertThat(poolState()).isEqualTo(before);
    }

    @Test
    void cloneHasTheSameContent() throws Exception {
        created(vol("clone-src.qcow2", "qcow2", "8M"));
        Path src = pool.resolve("clone-src.qcow2");
        assertThat(run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", "-c", "write -P 0xa5 4M 64k",
                src.toString())).isZero();
        TestHttp.Response clone = api.post("/v1/pools/default/volumes/clone-src.qcow2/clone", Map.of("name", "clone-dst.qcow2"));
        assertThat(clone.status()).as(clone.toString()).isEqualTo(201);
        assertThat(clone.json().path("format").asText()).isEqualTo("qcow2");
        assertThat(clone.json().path("virtualSize").asLong()).isEqualTo(8L << 20);
        assertThat(run("qemu-img", "compare", "-q", src.toString(), pool.resolve("clone-dst.qcow2").toString())).isZero();

        // a clone into another format is still the same disk, and the clone is independent of its source
        TestHttp.Response raw = api.post("/v1/pools/default/volumes/clone-src.qcow2/clone",
                Map.of("name", "clone-dst.raw", "format", "raw"));
        assertThat(raw.json().path("format").asText()).isEqualTo("raw");
        assertThat(run("qemu-img", "compare", "-q", src.toString(), pool.resolve("clone-dst.raw").toString())).isZero();
        assertThat(api.delete("/v1/pools/default/volumes/clone-src.qcow2").status()).isEqualTo(200);
        assertThat(run("qemu-img", "check", "-q", pool.resolve("clone-dst.qcow2").toString())).isZero();
        assertThat(Files.list(pool).map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".tmp-"));
    }

    @Test
    void aRawVolumeIsNeverReadAsTheQcow2ItsGuestWroteIntoIt() throws Exception {
        created(vol("trap.raw", "raw", "1M"));
        Path trap = pool.resolve("trap.raw");
        // What a guest could write to its raw disk: a qcow2 header naming a host file as backing file.
        Path header = daemon.root().resolve("header.qcow2");
        assertThat(run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw",
                header.toString(), "1M")).isZero();
        try (var ch = java.nio.channels.FileChannel.open(trap, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(Files.readAllBytes(header)), 0);
        }
        JsonNode info = api.get("/v1/pools/default/volumes/trap.raw").json();
        assertThat(info.path("format").asText()).isEqualTo("raw");
        assertThat(info.has("backingFile")).isFalse();
        TestHttp.Response clone = api.post("/v1/pools/default/volumes/trap.raw/clone", Map.of("name", "trap-copy.raw"));
        assertThat(clone.json().path("format").asText()).as(clone.toString()).isEqualTo("raw");
        assertThat(Files.readAllBytes(pool.resolve("trap-copy.raw"))).isEqualTo(Files.readAllBytes(trap));
    }

    @Test
    void racingCreatesOfOneNameMakeExactlyOneVolume() throws Exception {
        int n = 8;
        List<TestHttp.Response> answers;
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<TestHttp.Response>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                String format = i % 2 == 0 ? "qcow2" : "raw";
                fs.add(threads.submit(() -> create(vol("race.img", format, "4M"))));
            }
            answers = new java.util.ArrayList<>();
            for (var f : fs) {
                answers.add(f.get());
            }
        }
        assertThat(answers).filteredOn(r -> r.status() == 201).hasSize(1);
        assertThat(answers).filteredOn(r -> "volume-exists".equals(r.errorCode())).hasSize(n - 1);
        String winner = answers.stream().filter(r -> r.status() == 201).findFirst().orElseThrow().json().path("format").asText();
        assertThat(api.get("/v1/pools/default/volumes/race.img").json().path("format").asText()).isEqualTo(winner);
        assertThat(run("qemu-img", "info", "-f", winner, pool.resolve("race.img").toString())).isZero();
    }

    @Test
    void anOverlayRacingTheDeleteOfItsBaseNeverDangles() throws Exception {
        for (int round = 0; round < 4; round++) {
            String base = "rb" + round + ".qcow2";
            String top = "rt" + round + ".qcow2";
            created(vol(base, "qcow2", "4M"));
            TestHttp.Response[] got = new TestHttp.Response[2];
            Thread a = Thread.ofVirtual().start(() -> got[0] = create(vol(top, "qcow2", null).put("backing", base)));
            Thread b = Thread.ofVirtual().start(() -> got[1] = api.delete("/v1/pools/default/volumes/" + base));
            a.join();
            b.join();
            if (got[0].status() == 201) {
                // the overlay came first: the delete saw it and was refused, and the chain is whole
                assertThat(got[1].errorCode()).as(got[1].toString()).isEqualTo("volume-in-use");
                assertThat(run("qemu-img", "check", "-q", pool.resolve(top).toString())).isZero();
            } else {
                assertThat(got[0].errorCode()).as(got[0].toString()).isEqualTo("volume-not-found");
                assertThat(got[1].status()).isEqualTo(200);
                assertThat(Files.exists(pool.resolve(top))).isFalse();
            }
        }
    }

    @Test
    void deleteRemovesTheFile() {
        created(vol("gone.qcow2", "qcow2", "1M"));
        assertThat(Files.exists(pool.resolve(".jvirt/gone.qcow2.json"))).isTrue();
        TestHttp.Response d = api.delete("/v1/pools/default/volumes/gone.qcow2");
        assertThat(d.status()).as(d.toString()).isEqualTo(200);
        assertThat(Files.exists(pool.resolve("gone.qcow2"))).isFalse();
        assertThat(Files.exists(pool.resolve(".jvirt/gone.qcow2.json"))).isFalse();
        assertThat(api.get("/v1/pools/default/volumes/gone.qcow2").errorCode()).isEqualTo("volume-not-found");
        assertThat(api.delete("/v1/pools/default/volumes/gone.qcow2").errorCode()).isEqualTo("volume-not-found");
    }

    @Test
    void refusesNamesThatEscapeThePoolAndDuplicates() throws Exception {
        created(vol("dup.qcow2", "qcow2", "1M"));
        Map<String, String> before = poolState();
        Path parent = pool.getParent();
        List<String> parentBefore;
        try (Stream<Path> s = Files.list(parent)) {
            parentBefore = s.map(Path::toString).sorted().toList();
        }
        for (String bad : List.of("../x", "a/b", "../../escape.qcow2", "/tmp/abs.qcow2", "..", ".hidden", "-rf")) {
            TestHttp.Response r = create(vol(bad, "qcow2", "1M"));
            assertThat(r.status()).as(bad + ": " + r).isEqualTo(400);
            assertThat(r.errorCode()).as(bad).isEqualTo("invalid-volume");
            // nor through the backing or clone target names
            TestHttp.Response b = create(vol("ok-name.qcow2", "qcow2", null).put("backing", bad).put("backingFormat", "qcow2"));
            assertThat(b.errorCode()).as(bad).isEqualTo("invalid-volume");
            TestHttp.Response c = api.post("/v1/pools/default/volumes/dup.qcow2/clone", Map.of("name", bad));
            assertThat(c.errorCode()).as(bad).isEqualTo("invalid-volume");
        }
        TestHttp.Response dup = create(vol("dup.qcow2", "raw", "2M"));
        assertThat(dup.status()).isEqualTo(409);
        assertThat(dup.errorCode()).isEqualTo("volume-exists");
        TestHttp.Response dupClone = api.post("/v1/pools/default/volumes/dup.qcow2/clone", Map.of("name", "dup.qcow2"));
        assertThat(dupClone.errorCode()).isEqualTo("volume-exists");
        TestHttp.Response badFormat = create(vol("fmt.vmdk", "vmdk", "1M"));
        assertThat(badFormat.errorCode()).isEqualTo("invalid-volume");
        TestHttp.Response noSize = create(vol("nosize.qcow2", "qcow2", null));
        assertThat(noSize.errorCode()).isEqualTo("invalid-volume");
        TestHttp.Response unknownField = create(vol("uf.qcow2", "qcow2", "1M").put("colour", "red"));
        assertThat(unknownField.errorCode()).isEqualTo("invalid-volume");

        assertThat(poolState()).isEqualTo(before);
        try (Stream<Path> s = Files.list(parent)) {
            assertThat(s.map(Path::toString).sorted().toList()).isEqualTo(parentBefore);
        }
        assertThat(Files.exists(Path.of("/tmp/abs.qcow2"))).isFalse();
    }

    @Test
    void unknownPoolAndVolumeAreNamed() throws Exception {
        Map<String, String> before = poolState();
        TestHttp.Response p = api.get("/v1/pools/nope/volumes");
        assertThat(p.status()).isEqualTo(404);
        assertThat(p.errorCode()).isEqualTo("pool-not-found");
        assertThat(api.get("/v1/pools/nope").errorCode()).isEqualTo("pool-not-found");
        assertThat(api.post("/v1/pools/nope/volumes", vol("x.qcow2", "qcow2", "1M")).errorCode()).isEqualTo("pool-not-found");
        TestHttp.Response v = api.get("/v1/pools/default/volumes/absent.qcow2");
        assertThat(v.status()).isEqualTo(404);
        assertThat(v.errorCode()).isEqualTo("volume-not-found");
        assertThat(v.json().path("error").path("message").asText()).contains("absent.qcow2");
        assertThat(api.post("/v1/pools/default/volumes/absent.qcow2/resize", Map.of("size", "2M")).errorCode())
                .isEqualTo("volume-not-found");
        assertThat(api.post("/v1/pools/default/volumes/absent.qcow2/clone", Map.of("name", "y.qcow2")).errorCode())
                .isEqualTo("volume-not-found");
        assertThat(create(vol("ov.qcow2", "qcow2", null).put("backing", "absent.qcow2")).errorCode())
                .isEqualTo("volume-not-found");
        assertThat(poolState()).isEqualTo(before);
    }

    @Test
    void refusesToDeleteABackingFileAndNamesTheOverlay() throws Exception {
        created(vol("bf-base.qcow2", "qcow2", "4M"));
        created(vol("bf-top.qcow2", "qcow2", null).put("backing", "bf-base.qcow2").put("backingFormat", "qcow2"));
        Map<String, String> before = poolState();
        TestHttp.Response d = api.delete("/v1/pools/default/volumes/bf-base.qcow2");
        assertThat(d.status()).isEqualTo(409);
        assertThat(d.errorCode()).isEqualTo("volume-in-use");
        assertThat(d.json().path("error").path("message").asText()).contains("bf-top.qcow2");
        assertThat(d.json().path("error").path("details").path("overlay").asText()).isEqualTo("bf-top.qcow2");
        assertThat(poolState()).isEqualTo(before);
        // the overlay first, then the base
        assertThat(api.delete("/v1/pools/default/volumes/bf-top.qcow2").status()).isEqualTo(200);
        assertThat(api.delete("/v1/pools/default/volumes/bf-base.qcow2").status()).isEqualTo(200);
    }

    @Test
    void aVolumeUnderAVmDiskOutsideThePoolIsInUseToo() throws Exception {
        JsonNode base = created(vol("under.qcow2", "qcow2", "4M"));
        Path outside = daemon.root().resolve("outside-overlay.qcow2");
        assertThat(run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.path("path").asText(), "-F", "qcow2",
                outside.toString())).isZero();
        ObjectNode def = TestGuest.definition("chainvm");
        def.putArray("disks").addObject().put("name", "vda").put("path", outside.toString()).put("format", "qcow2");
        assertThat(api.post("/v1/vms", def).status()).isEqualTo(201);
        try {
            Map<String, String> before = poolState();
            TestHttp.Response d = api.delete("/v1/pools/default/volumes/under.qcow2");
            assertThat(d.errorCode()).as(d.toString()).isEqualTo("volume-in-use");
            assertThat(d.json().path("error").path("details").path("vm").asText()).isEqualTo("chainvm");
            assertThat(poolState()).isEqualTo(before);
        } finally {
            api.delete("/v1/vms/chainvm");
        }
        assertThat(api.delete("/v1/pools/default/volumes/under.qcow2").status()).isEqualTo(200);
    }

    @Test
    void aVmBootsFromAPoolVolumeWhichCannotBeDeletedWhileDefined() throws Exception {
        JsonNode v = created(vol("vmdisk.qcow2", "qcow2", "16M"));
        ObjectNode def = TestGuest.definition("storevm");
        def.putArray("disks").addObject().put("name", "vda").put("path", v.path("path").asText()).put("format", "qcow2");
        TestHttp.Response defined = api.post("/v1/vms", def);
        assertThat(defined.status()).as(defined.toString()).isEqualTo(201);
        try {
            Map<String, String> before = poolState();
            TestHttp.Response d = api.delete("/v1/pools/default/volumes/vmdisk.qcow2");
            assertThat(d.status()).isEqualTo(409);
            assertThat(d.errorCode()).isEqualTo("volume-in-use");
            assertThat(d.json().path("error").path("message").asText()).contains("storevm");
            assertThat(d.json().path("error").path("details").path("vm").asText()).isEqualTo("storevm");
            assertThat(poolState()).isEqualTo(before);

            TestHttp.Response started = api.post("/v1/vms/storevm/start?wait=true");
            assertThat(started.status()).as(started.toString()).isEqualTo(200);
            try (ConsoleReader console = new ConsoleReader(api, "storevm")) {
                int at = console.await(TestGuest.READY, Duration.ofSeconds(120));
                // the guest sees the volume's size as its disk
                api.postBytes("/v1/vms/storevm/console", "echo size=$(cat /sys/block/vda/size)\n".getBytes());
                console.await("size=" + (16L << 20) / 512, at, Duration.ofSeconds(30));
            }
            // a running QEMU holds the image: a resize is refused as in use, not half done
            TestHttp.Response resize = api.post("/v1/pools/default/volumes/vmdisk.qcow2/resize", Map.of("size", "32M"));
            assertThat(resize.errorCode()).as(resize.toString()).isEqualTo("volume-in-use");
        } finally {
            api.post("/v1/vms/storevm/destroy");
            api.delete("/v1/vms/storevm");
        }
        assertThat(api.delete("/v1/pools/default/volumes/vmdisk.qcow2").status()).isEqualTo(200);
    }
}
