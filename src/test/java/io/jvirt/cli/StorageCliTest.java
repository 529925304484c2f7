package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code jvirt vol} and {@code jvirt pool} against a real daemon. */
class StorageCliTest {
    static DaemonProcess daemon;
    static final ObjectMapper JSON = new ObjectMapper();

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

    static CliResult jvirt(String... args) {
        return CliResult.run(daemon, args);
    }

    @Test
    void poolDefineAndUndefine() throws Exception {
        Path dir = Files.createDirectories(daemon.root().resolve("clipool"));
        CliResult defined = jvirt("pool", "define", "clipool", dir.toString());
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
        CliResult pools = jvirt("pool", "list");
        assertThat(pools.exit()).as(pools.toString()).isZero();
        assertThat(pools.out()).startsWith("NAME").contains("default").contains(pool.toString());
        CliResult poolInfo = jvirt("-o", "json", "pool", "info", "default");
        assertThat(poolInfo.json().path("name").asText()).isEqualTo("default");

        CliResult created = jvirt("vol", "create", "base.qcow2", "--size", "32M");
        assertThat(created.exit()).as(created.toString()).isZero();
        assertThat(created.out()).contains("base.qcow2").contains("32.00 MiB");
        CliResult overlay = jvirt("vol", "create", "top.qcow2", "--backing", "base.qcow2", "--backing-format", "qcow2");
        assertThat(overlay.exit()).as(overlay.toString()).isZero();

        CliResult list = jvirt("vol", "list");
        assertThat(list.out()).startsWith("NAME").containsPattern("top\\.qcow2\\s+qcow2\\s+32\\.00 MiB\\s+\\S+ \\S+\\s+base\\.qcow2");
        CliResult info = jvirt("vol", "info", "top.qcow2");
        assertThat(info.out()).contains("Backing:").contains("base.qcow2 (qcow2)").contains("chain");
        CliResult json = jvirt("vol", "info", "top.qcow2", "-o", "json");
        assertThat(json.json().path("backingChain").get(0).path("format").asText()).isEqualTo("qcow2");

        CliResult resized = jvirt("vol", "resize", "base.qcow2", "64M");
        assertThat(resized.exit()).as(resized.toString()).isZero();
        assertThat(resized.out()).contains("64.00 MiB");
        CliResult shrink = jvirt("vol", "resize", "base.qcow2", "1M");
        assertThat(shrink.exit()).isEqualTo(JvirtCli.EXIT_INVALID);
        assertThat(shrink.err()).contains("shrinking");

        CliResult inUse = jvirt("vol", "delete", "base.qcow2");
        assertThat(inUse.exit()).isEqualTo(JvirtCli.EXIT_CONFLICT);
        assertThat(inUse.err()).contains("top.qcow2");
        assertThat(Files.exists(pool.resolve("base.qcow2"))).isTrue();

        CliResult cloned = jvirt("-o", "json", "vol", "clone", "top.qcow2", "flat.raw", "--format", "raw");
        assertThat(cloned.exit()).as(cloned.toString()).isZero();
        assertThat(cloned.json().path("format").asText()).isEqualTo("raw");
        assertThat(cloned.json().has("backingFile")).isFalse();

        CliResult escape = jvirt("vol", "create", "../evil", "--size", "1M");
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
