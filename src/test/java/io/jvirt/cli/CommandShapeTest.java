package io.jvirt.cli;

import static io.jvirt.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What every command shares: bare groups, the shared options, exit codes from ErrorCode, byte sizes. */
@Timeout(30)
class CommandShapeTest {
    StubServer server;

    @BeforeEach
    void start() throws Exception {
        server = StubServer.unix();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"snapshot", "image", "vol", "pool"})
    void aBareGroupPrintsItsUsageAndExits2(String group) {
        var r = run(server, group);
        assertThat(r.exit()).isEqualTo(JvirtCli.EXIT_USAGE);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("jvirt: error: Missing required subcommand\n")
                .contains("Usage: jvirt " + group + " ").contains("Commands:");
        assertThat(server.requests).isEmpty();
    }

    @Test
    void jvirtAloneIsABareGroupToo() {
        var r = run(server);
        assertThat(r.exit()).isEqualTo(JvirtCli.EXIT_USAGE);
        assertThat(r.err()).contains("Usage: jvirt ").contains("snapshot");
    }

    @Test
    void queueWaitsForTheVmsJobSlot() {
        server.json("POST", "/v1/vms/demo/start", 200, JvirtCliTest.OP_DONE);
        assertThat(run(server, "start", "demo", "--queue", "5").exit()).isZero();
        assertThat(server.last().toString()).isEqualTo("POST /v1/vms/demo/start?queue=5&wait=true");
        server.json("POST", "/v1/vms/demo/suspend", 200, JvirtCliTest.VM_DEMO);
        assertThat(run(server, "suspend", "demo", "--queue", "2").exit()).isZero();
        assertThat(server.last().toString()).isEqualTo("POST /v1/vms/demo/suspend?queue=2");
        server.json("DELETE", "/v1/vms/demo", 200, "{}");
        assertThat(run(server, "undefine", "demo", "--queue", "1").exit()).isZero();
        assertThat(server.last().toString()).isEqualTo("DELETE /v1/vms/demo?queue=1");
    }

    @Test
    void snapshotOperationsTakeTheWaitOptions() {
        String running = JvirtCliTest.OP_RUNNING.replace("\"start\"", "\"snapshot-create\"");
        server.json("POST", "/v1/vms/demo/snapshots", 202, running);
        var r = run(server, "snapshot", "create", "demo", "s1", "--no-wait");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("Snapshot s1 of VM demo is being created (operation op1)\n");
        assertThat(server.last().toString()).isEqualTo("POST /v1/vms/demo/snapshots");

        server.json("GET", "/v1/operations/op1/wait", 200, running.replace("\"running\"", "\"success\""));
        r = run(server, "snapshot", "create", "demo", "s1", "--timeout", "5");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).isEqualTo("Snapshot s1 of VM demo created\n");
        assertThat(run(server, "snapshot", "create", "demo", "s1", "--timeout", "0").exit()).isEqualTo(JvirtCli.EXIT_USAGE);
    }

    @Test
    void imagePublishSaysWhereItWent() {
        var r = run(server, "image", "publish", "/tmp/repo", "--key", "K");
        assertThat(r.exit()).isEqualTo(JvirtCli.EXIT_USAGE);
        assertThat(r.err()).contains("bin/jvirt-publish");
        assertThat(run(server, "image", "--help").out()).doesNotContain("publish");
    }

    @Test
    void everyErrorCodeMapsByItsKind() {
        for (ErrorCode c : ErrorCode.values()) {
            // the status is ignored for a known code: a kind decides
            assertThat(ExitCodes.forApiError(c.code(), 200)).as(c.code()).isEqualTo(ExitCodes.forKind(c.kind()));
        }
        assertThat(ExitCodes.forApiError("snapshot-exists", 409)).isEqualTo(JvirtCli.EXIT_CONFLICT);
        assertThat(ExitCodes.forApiError("image-not-found", 404)).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
        assertThat(ExitCodes.forApiError("bad-bundle", 400)).isEqualTo(JvirtCli.EXIT_INVALID);
        assertThat(ExitCodes.forApiError("cancelled", 409)).isEqualTo(JvirtCli.EXIT_FAILURE);
        assertThat(ExitCodes.forApiError("not-found", 404)).isEqualTo(JvirtCli.EXIT_FAILURE);
        // codes of a newer daemon: by HTTP status class
        assertThat(ExitCodes.forApiError("new-code", 400)).isEqualTo(JvirtCli.EXIT_INVALID);
        assertThat(ExitCodes.forApiError("new-code", 404)).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
        assertThat(ExitCodes.forApiError("new-code", 504)).isEqualTo(JvirtCli.EXIT_TIMEOUT);
        assertThat(ExitCodes.forApiError("new-code", 502)).isEqualTo(JvirtCli.EXIT_FAILURE);
        assertThat(ExitCodes.forApiError(null, -1)).isEqualTo(JvirtCli.EXIT_FAILURE);
    }

    @Test
    void helpAndDocsListEveryErrorCode() throws Exception {
        String help = run(null, "--help").out();
        String docs = Files.readString(Path.of("docs/cli.md"));
        String table = docs.substring(docs.indexOf("## Exit codes"), docs.indexOf("## Start-up"));
        for (ErrorCode c : ErrorCode.values()) {
            assertThat(help).as("help").contains(c.code());
            assertThat(table).as("docs/cli.md").containsPattern("\\| " + ExitCodes.forKind(c.kind()) + " \\|[^\\n]*`"
                    + c.code() + "`");
        }
    }

    @Test
    void bytes() {
        assertThat(Bytes.format(512, 2)).isEqualTo("512 B");
        assertThat(Bytes.format(64L << 20, 2)).isEqualTo("64.00 MiB");
        assertThat(Bytes.format(3L << 29, 1)).isEqualTo("1.5 GiB");
        assertThat(Bytes.parse("65536")).isEqualTo(65536);
        assertThat(Bytes.parse("64K")).isEqualTo(65536);
        assertThat(Bytes.parse("1 MiB")).isEqualTo(1 << 20);
        assertThat(Bytes.parse("2gb")).isEqualTo(2L << 30);
        assertThatThrownBy(() -> Bytes.parse("1X")).hasMessageContaining("'1X' is not a size");
        assertThatThrownBy(() -> Bytes.parse("99999999999T")).hasMessageContaining("out of range");
    }

    @Test
    void sizeOptionsAcceptUnits() {
        server.json("POST", "/v1/vms/demo/disks/vda/copy", 202, JvirtCliTest.OP_RUNNING);
        var r = run(server, "blockcopy", "demo", "vda", "/x.qcow2", "--buf-size", "1M", "--granularity", "64K");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(server.last().bodyText()).contains("\"granularity\":65536").contains("\"bufSize\":1048576");
        assertThat(run(server, "blockcopy", "demo", "vda", "/x.qcow2", "--buf-size", "lots").exit())
                .isEqualTo(JvirtCli.EXIT_USAGE);
    }
}
