package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.DaemonProcess;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code jvirt vol} and {@code jvirt pool} against a real daemon. */
class StorageCliTest {
    static DaemonProcess daemon;
    static final ObjectMapper JSON = new ObjectMapper();

    record Result(int exit, String out, String err) {
        JsonNode json() throws IOException {
            return JSON.readTree(out);
        }

        @Override
        public String toString() {
            return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
        }
    }

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = DaemonProcess.startNew();
    }

    @AfterAll
    static void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
    }

    static Result jvirt(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] full = new String[args.length + 2];
        full[0] = "--socket";
        full[1] = daemon.socket().toString();
        System.arraycopy(args, 0, full, 2, args.length);
        int exit = JvirtCli.run(full, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void poolDefineAndUndefine() throws Exception {
        Path dir = Files.createDirectories(daemon.root().resolve("clipool"));
        Result defined = jvirt("pool", "define", "clipool", dir.toString());
        assertThat(defined.exit()).as(defined.toString()).isZero();
        assertThat(jvirt("vol", "create", "x.raw", "--format", "raw", "--size", "1M", "--pool", "clipool").exit()).isZero();
        assertThat(Files.size(dir.resolve("x.raw"))).isEqualTo(1L << 20);
        assertThat(jvirt("pool", "list").out()).contains("clipool");
        assertThat(jvirt("pool", "define", "clipool", dir.toString()).exit()).isEqualTo(JvirtCli.EXIT_CONFLICT);
        assertThat(jvirt("pool", "undefine", "clipool").exit()).isZero();
        assertThat(jvirt("pool", "info", "clipool").exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
        assertThat(Files.exists(dir.resolve("x.raw"))).isTrue();
    }

    @Test
    void volumeLifecycleThroughTheCli() throws Exception {
        Path pool = daemon.stateDir().resolve("pools/default");
        Result pools = jvirt("pool", "list");
        assertThat(pools.exit()).as(pools.toString()).isZero();
        assertThat(pools.out()).startsWith("NAME").contains("default").contains(pool.toString());
        Result poolInfo = jvirt("-o", "json", "pool", "info", "default");
        assertThat(poolInfo.json().path("name").asText()).isEqualTo("default");

        Result created = jvirt("vol", "create", "base.qcow2", "--size", "32M");
        assertThat(created.exit()).as(created.toString()).isZero();
        assertThat(created.out()).contains("base.qcow2").contains("32.00 MiB");
        Result overlay = jvirt("vol", "create", "top.qcow2", "--backing", "base.qcow2", "--backing-format", "qcow2");
        assertThat(overlay.exit()).as(overlay.toString()).isZero();

        Result list = jvirt("vol", "list");
        assertThat(list.out()).startsWith("NAME").containsPattern("top\\.qcow2\\s+qcow2\\s+32\\.00 MiB\\s+\\S+ \\S+\\s+base\\.qcow2");
        Result info = jvirt("vol", "info", "top.qcow2");
        assertThat(info.out()).contains("Backing:").contains("base.qcow2 (qcow2)").contains("chain");
        Result json = jvirt("vol", "info", "top.qcow2", "-o", "json");
        assertThat(json.json().path("backingChain").get(0).path("format").asText()).isEqualTo("qcow2");

        Result resized = jvirt("vol", "resize", "base.qcow2", "64M");
        assertThat(resized.exit()).as(resized.toString()).isZero();
        assertThat(resized.out()).contains("64.00 MiB");
        Result shrink = jvirt("vol", "resize", "base.qcow2", "1M");
        assertThat(shrink.exit()).isEqualTo(JvirtCli.EXIT_INVALID);
        assertThat(shrink.err()).contains("shrinking");

        Result inUse = jvirt("vol", "delete", "base.qcow2");
        assertThat(inUse.exit()).isEqualTo(JvirtCli.EXIT_CONFLICT);
        assertThat(inUse.err()).contains("top.qcow2");
        assertThat(Files.exists(pool.resolve("base.qcow2"))).isTrue();

        Result cloned = jvirt("-o", "json", "vol", "clone", "top.qcow2", "flat.raw", "--format", "raw");
        assertThat(cloned.exit()).as(cloned.toString()).isZero();
        assertThat(cloned.json().path("format").asText()).isEqualTo("raw");
        assertThat(cloned.json().has("backingFile")).isFalse();

        Result escape = jvirt("vol", "create", "../evil", "--size", "1M");
        assertThat(escape.exit()).isEqualTo(JvirtCli.EXIT_INVALID);
        assertThat(Files.exists(pool.getParent().resolve("evil"))).isFalse();
        assertThat(jvirt("vol", "info", "nothing").exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
        assertThat(jvirt("vol", "list", "--pool", "nopool").exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);

        assertThat(jvirt("vol", "delete", "top.qcow2").exit()).isZero();
        assertThat(jvirt("vol", "delete", "base.qcow2").exit()).isZero();
        assertThat(jvirt("vol", "delete", "flat.raw").exit()).isZero();
        assertThat(jvirt("-o", "json", "vol", "list").json()).isEmpty();
    }
}
