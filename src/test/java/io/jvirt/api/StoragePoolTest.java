package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Pools beyond the default one: define, survive a daemon restart, refusals, undefine. */
class StoragePoolTest {
    DaemonProcess daemon;

    @BeforeEach
    void start() throws Exception {
        daemon = DaemonProcess.startNew();
    }

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void aDefinedPoolHoldsVolumesAndSurvivesARestart() throws Exception {
        Path dir = Files.createDirectories(daemon.root().resolve("fast"));
        TestHttp api = daemon.http();
        TestHttp.Response defined = api.post("/v1/pools", Map.of("name", "fast", "path", dir.toString()));
        assertThat(defined.status()).as(defined.toString()).isEqualTo(201);
        assertThat(defined.json().path("path").asText()).isEqualTo(dir.toRealPath().toString());
        TestHttp.Response v = api.post("/v1/pools/fast/volumes", Map.of("name", "a.qcow2", "size", "8M"));
        assertThat(v.status()).as(v.toString()).isEqualTo(201);
        assertThat(Files.isRegularFile(dir.resolve("a.qcow2"))).isTrue();

        daemon.kill9();
        daemon.restart();
        api = daemon.http();
        assertThat(api.get("/v1/pools").json().findValuesAsText("name")).containsExactly("default", "fast");
        assertThat(api.get("/v1/pools/fast/volumes/a.qcow2").json().path("virtualSize").asLong()).isEqualTo(8L << 20);
        assertThat(api.get("/v1/pools/fast").json().path("volumes").asInt()).isEqualTo(1);

        TestHttp.Response undefined = api.delete("/v1/pools/fast");
        assertThat(undefined.status()).as(undefined.toString()).isEqualTo(200);
        assertThat(api.get("/v1/pools/fast/volumes").errorCode()).isEqualTo("pool-not-found");
        assertThat(Files.isRegularFile(dir.resolve("a.qcow2"))).as("undefine keeps the images").isTrue();
        daemon.kill9();
        daemon.restart();
        assertThat(daemon.http().get("/v1/pools").json().findValuesAsText("name")).containsExactly("default");
    }

    @Test
    void aRestartRemovesHalfMadeImagesButNoVolume() throws Exception {
        TestHttp api = daemon.http();
        assertThat(api.post("/v1/pools/default/volumes", Map.of("name", "kept.qcow2", "size", "1M")).status()).isEqualTo(201);
        Path pool = daemon.stateDir().resolve("pools/default");
        // what a daemon killed during a create leaves: the hidden image and the format record, no volume
        Files.write(pool.resolve(".tmp-half.qcow2"), new byte[4096]);
        Files.writeString(pool.resolve(".jvirt/half.qcow2.json"), "{\"format\":\"qcow2\"}");
        daemon.kill9();
        daemon.restart();
        assertThat(Files.exists(pool.resolve(".tmp-half.qcow2"))).isFalse();
        assertThat(Files.exists(pool.resolve(".jvirt/half.qcow2.json"))).isFalse();
        assertThat(daemon.http().get("/v1/pools/default/volumes").json().findValuesAsText("name")).containsExactly("kept.qcow2");
        assertThat(Files.exists(pool.resolve(".jvirt/kept.qcow2.json"))).isTrue();
    }

    @Test
    void badPoolDefinitionsAreRefusedAndChangeNothing() throws Exception {
        TestHttp api = daemon.http();
        Path dir = Files.createDirectories(daemon.root().resolve("p"));
        Path defaultPool = daemon.stateDir().resolve("pools/default");
        Path inside = Files.createDirectories(defaultPool.resolve("sub"));
        List<Map<String, String>> bad = List.of(
                Map.of("name", "rel", "path", "relative/dir"),
                Map.of("name", "gone", "path", daemon.root().resolve("absent").toString()),
                Map.of("name", "nested", "path", inside.toString()),
                Map.of("name", "outer", "path", daemon.stateDir().toString()),
                Map.of("name", "root", "path", "/"),
                Map.of("name", "../x", "path", dir.toString()),
                Map.of("name", "default", "path", dir.toString()));
        for (Map<String, String> b : bad) {
            TestHttp.Response r = api.post("/v1/pools", b);
            assertThat(r.status()).as(b + ": " + r).isIn(400, 409);
            // the state dir and / are refused by the path policy (its rule named), the rest as bad arguments
            assertThat(r.errorCode()).as(b.toString()).isIn("invalid-argument", "pool-exists", "path-not-allowed");
        }
        assertThat(api.post("/v1/pools", Map.of("name", "default", "path", dir.toString())).errorCode()).isEqualTo("pool-exists");
        assertThat(api.post("/v1/pools", Map.of("name", "x", "path", dir.toString(), "colour", "red")).errorCode())
                .isEqualTo("invalid-argument");
        assertThat(api.delete("/v1/pools/default").errorCode()).isEqualTo("invalid-argument");
        assertThat(api.delete("/v1/pools/none").errorCode()).isEqualTo("pool-not-found");
        assertThat(api.get("/v1/pools").json().findValuesAsText("name")).containsExactly("default");
        try (var s = Files.list(daemon.stateDir().resolve("pool-definitions"))) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
