package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** jvirt blockcopy / blockjob against a real daemon and guest. */
class BlockCopyCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void blockcopyWaitsShowsProgressAndBlockjobPivots() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startNew()) {
            TestHttp api = daemon.http();
            Path dir = Files.createDirectories(daemon.root().resolve("img"));
            Path src = TestGuest.newDisk(dir.resolve("src.qcow2"), "qcow2", "64M");
            TestGuest.run(List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x41 0 32M", src.toString()), 60);
            ObjectNode def = TestGuest.definition("cb");
            def.putArray("disks").addObject().put("name", "vda").put("path", src.toString()).put("format", "qcow2");
            assertThat(api.post("/v1/vms", def).status()).isEqualTo(201);

            CliResult notRunning = CliResult.run(daemon, "blockcopy", "cb", "vda", dir.resolve("x.qcow2").toString());
            assertThat(notRunning.exit()).as(notRunning.toString()).isEqualTo(JvirtCli.EXIT_CONFLICT);
            assertThat(notRunning.err()).contains("shutoff");

            assertThat(api.post("/v1/vms/cb/start?wait=true").status()).isEqualTo(200);
            new ConsoleReader(api, "cb").await(TestGuest.READY, 0, Duration.ofSeconds(90));

            // not ready in time: the copy is aborted, with how far it got, and the guest stays on its source
            Path slow = dir.resolve("slow.qcow2");
            CliResult late = CliResult.run(daemon, "blockcopy", "cb", "vda", slow.toString(), "--pivot", "--timeout", "1",
                    "--bandwidth", "1");
            assertThat(late.exit()).as(late.toString()).isEqualTo(JvirtCli.EXIT_TIMEOUT);
            assertThat(late.err()).contains("not ready after 1 s").contains("copied").contains("aborted");
            CliResult lateWait = CliResult.run(daemon, "blockcopy", "cb", "vda", dir.resolve("slow2.qcow2").toString(),
                    "--wait", "--timeout", "1", "--bandwidth", "1");
            assertThat(lateWait.exit()).as(lateWait.toString()).isEqualTo(JvirtCli.EXIT_TIMEOUT);
            assertThat(lateWait.err()).contains("aborted");
            assertThat(api.get("/v1/vms/cb/disks/vda/job").json().path("active").asBoolean()).isFalse();
            assertThat(api.get("/v1/vms/cb").json().path("definition").path("disks").get(0).path("path").asText())
                    .isEqualTo(src.toString());

            // --wait: a progress bar until ready, then the copy stays ready
            Path dst = dir.resolve("dst.qcow2");
            CliResult waited = CliResult.run(daemon, "blockcopy", "cb", "vda", dst.toString(), "--wait", "--bandwidth", "16");
            assertThat(waited.exit()).as(waited.toString()).isZero();
            assertThat(waited.out()).contains("is ready");
            assertThat(waited.err()).contains("[").contains("%").contains("MiB");
            CliResult info = CliResult.run(daemon, "blockjob", "cb", "vda");
            assertThat(info.out()).contains("Phase:").contains("ready").contains(dst.toString());
            assertThat(CliResult.run(daemon, "blockjob", "cb", "vda", "--bandwidth", "0").exit()).isZero();

            CliResult pivot = CliResult.run(daemon, "blockjob", "cb", "vda", "--pivot");
            assertThat(pivot.exit()).as(pivot.toString()).isZero();
            assertThat(pivot.out()).contains("Pivoted").contains(dst.toString());
            JsonNode vm = api.get("/v1/vms/cb").json();
            assertThat(vm.path("definition").path("disks").get(0).path("path").asText()).isEqualTo(dst.toString());

            CliResult again = CliResult.run(daemon, "blockjob", "cb", "vda", "--pivot");
            assertThat(again.exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
            assertThat(again.err()).contains("no block job").contains("now uses " + dst);

            // --pivot in one go, JSON output; then a copy that exists without --reuse-external is refused
            Path back = dir.resolve("back.qcow2");
            CliResult oneGo = CliResult.run(daemon, "-o", "json", "blockcopy", "cb", "vda", back.toString(), "--pivot");
            assertThat(oneGo.exit()).as(oneGo.toString()).isZero();
            assertThat(oneGo.json().path("result").path("phase").asText()).isEqualTo("pivoted");
            CliResult exists = CliResult.run(daemon, "blockcopy", "cb", "vda", dst.toString(), "--finish");
            assertThat(exists.exit()).isEqualTo(JvirtCli.EXIT_CONFLICT);
            assertThat(exists.err()).contains("--reuse-external");
            CliResult both = CliResult.run(daemon, "blockcopy", "cb", "vda", dst.toString(), "--pivot", "--finish");
            assertThat(both.exit()).isEqualTo(JvirtCli.EXIT_USAGE);
            assertThat(CliResult.run(daemon, "blockjob", "cb", "vda", "--abort").exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
            api.post("/v1/vms/cb/destroy");
        }
    }
}
