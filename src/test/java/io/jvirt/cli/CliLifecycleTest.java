package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.qemu.ProcessInfo;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The whole lifecycle of the tiny guest driven only through the {@code jvirt} CLI, against a real daemon. */
class CliLifecycleTest {
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

    static String state(String vm) throws IOException {
        CliResult r = jvirt("-o", "json", "info", vm);
        assertThat(r.exit()).as(r.toString()).isZero();
        return r.json().path("state").asText();
    }

    @Test
    void defineStartConsoleSuspendResumeShutdownDestroyUndefine() throws Exception {
        Path disk = TestGuest.newDisk(daemon.root().resolve("cli.qcow2"), "qcow2", "32M");
        Path yaml = daemon.root().resolve("cli.yaml");
        Files.writeString(yaml, """
                name: cli
                memoryMiB: 128
                vcpus: 1
                boot:
                  kernel: %s
                  initrd: %s
                  cmdline: console=ttyS0
                disks:
                  - name: vda
                    path: %s
                    format: qcow2
                nics:
                  - name: net0
                    type: user
                """.formatted(TestGuest.kernel(), TestGuest.initrd(), disk));

        CliResult defined = jvirt("define", yaml.toString());
        assertThat(defined.exit()).as(defined.toString()).isZero();
        assertThat(state("cli")).isEqualTo("shutoff");

        CliResult list = jvirt("list");
        assertThat(list.exit()).isZero();
        assertThat(list.out()).containsPattern("(?m)^cli\\s+shutoff");

        CliResult started = jvirt("start", "cli");
        assertThat(started.exit()).as(started.toString()).isZero();
        assertThat(state("cli")).isEqualTo("running");

        CliResult ready = jvirt("console", "cli", "--wait-for", TestGuest.READY, "--timeout", "60");
        assertThat(ready.exit()).as(ready.toString()).isZero();
        assertThat(ready.out()).contains(TestGuest.READY);

        CliResult info = jvirt("info", "cli");
        assertThat(info.out()).contains("running").contains("vda").contains(disk.toString());

        assertThat(jvirt("suspend", "cli").exit()).isZero();
        assertThat(state("cli")).isEqualTo("paused");
        assertThat(jvirt("resume", "cli").exit()).isZero();
        assertThat(state("cli")).isEqualTo("running");

        CliResult json = jvirt("-o", "json", "list");
        assertThat(json.exit()).isZero();
        JsonNode vms = json.json();
        JsonNode cli = vms.isArray() ? vms.get(0) : vms.path("vms").get(0);
        assertThat(cli.path("name").asText()).isEqualTo("cli");
        assertThat(cli.path("state").asText()).isEqualTo("running");

        long pid = JSON.readTree(jvirt("-o", "json", "info", "cli").out()).path("runtime").path("pid").asLong();
        CliResult shutdown = jvirt("shutdown", "cli", "--timeout", "60");
        assertThat(shutdown.exit()).as(shutdown.toString()).isZero();
        assertThat(state("cli")).isEqualTo("shutoff");
        DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));

        assertThat(jvirt("start", "cli").exit()).isZero();
        long pid2 = JSON.readTree(jvirt("-o", "json", "info", "cli").out()).path("runtime").path("pid").asLong();
        CliResult again = jvirt("start", "cli");
        assertThat(again.exit()).as("start of a running VM").isEqualTo(JvirtCli.EXIT_CONFLICT);
        assertThat(again.err()).contains("running");

        assertThat(jvirt("destroy", "cli").exit()).isZero();
        assertThat(ProcessInfo.isRunning(pid2)).isFalse();
        CliResult destroyAgain = jvirt("destroy", "cli");
        assertThat(destroyAgain.exit()).as("destroy of a stopped VM").isEqualTo(JvirtCli.EXIT_CONFLICT);

        assertThat(jvirt("undefine", "cli").exit()).isZero();
        CliResult gone = jvirt("info", "cli");
        assertThat(gone.exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
        assertThat(gone.err()).contains("cli");
    }

    @Test
    void definitionFilesWithUnknownFieldsAreRefusedNamingTheField() throws Exception {
        Path yaml = daemon.root().resolve("typo.yaml");
        Files.writeString(yaml, """
                name: typo
                memoryMiB: 128
                vcpu: 1
                boot:
                  kernel: %s
                """.formatted(TestGuest.kernel()));
        CliResult r = jvirt("define", yaml.toString());
        assertThat(r.exit()).as(r.toString()).isNotZero();
        assertThat(r.err()).contains("vcpu");
        assertThat(jvirt("info", "typo").exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
    }

    @Test
    void consoleWaitForGivesUpAtItsTimeout() throws Exception {
        Path yaml = daemon.root().resolve("quiet.json");
        JsonNode d = TestGuest.definition("quiet");
        Files.writeString(yaml, d.toString());
        assertThat(jvirt("define", yaml.toString()).exit()).isZero();
        assertThat(jvirt("start", "quiet").exit()).isZero();
        try {
            CliResult r = jvirt("console", "quiet", "--wait-for", "TEXT-THE-GUEST-NEVER-PRINTS", "--timeout", "2");
            assertThat(r.exit()).as(r.toString()).isEqualTo(JvirtCli.EXIT_TIMEOUT);
            assertThat(r.err()).contains("within 2 s");
        } finally {
            jvirt("destroy", "quiet");
            jvirt("undefine", "quiet");
        }
    }
}
