package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.qmp.BareQemu;
import io.jvirt.qmp.QmpClient;
import io.jvirt.storage.QemuImg;
import io.jvirt.testing.Command;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The explicit node tree, as a data structure and as real QEMU builds it from the -blockdev arguments. */
class BlockdevChainTest {
    @TempDir
    Path tmp;

    @Test
    void nodesNameTheirBackingExplicitlyBaseFirst() {
        ImageChain chain = new ImageChain(List.of(
                new ImageChain.Layer(Path.of("/p/top.qcow2"), "qcow2", 1),
                new ImageChain.Layer(Path.of("/p/mid.qcow2"), "qcow2", 1),
                new ImageChain.Layer(Path.of("/p/base.raw"), "raw", 1)));
        List<String> args = BlockdevChain.arguments("vda", chain, false);
        assertThat(args).hasSize(12);
        // file nodes of a writable disk's layers: read-only until a writer appears (a commit), format nodes read-only
        assertThat(args.get(1)).isEqualTo("{\"driver\":\"file\",\"filename\":\"/p/base.raw\",\"node-name\":\"file-vda-2\","
                + "\"read-only\":false,\"auto-read-only\":true,\"discard\":\"unmap\"}");
        assertThat(args.get(3)).isEqualTo("{\"driver\":\"raw\",\"file\":\"file-vda-2\",\"node-name\":\"fmt-vda-2\",\"read-only\":true}");
        assertThat(args.get(7)).isEqualTo("{\"driver\":\"qcow2\",\"file\":\"file-vda-1\",\"node-name\":\"fmt-vda-1\","
                + "\"read-only\":true,\"backing\":\"fmt-vda-2\"}");
        assertThat(args.get(11)).isEqualTo("{\"driver\":\"qcow2\",\"file\":\"file-vda\",\"node-name\":\"fmt-vda\","
                + "\"read-only\":false,\"backing\":\"fmt-vda-1\"}");
        ImageChain alone = new ImageChain(List.of(new ImageChain.Layer(Path.of("/p/a.qcow2"), "qcow2", 1)));
        assertThat(BlockdevChain.nodes("vdb", alone, true).get(1).get("backing").isNull()).isTrue();
        assertThat(BlockdevChain.nodes("vdb", alone, true).get(0).get("read-only").asBoolean()).isTrue(); // a read-only disk
    }

    @Test
    void qemuBuildsExactlyThatGraph() throws Exception {
        Path pool = Files.createDirectories(tmp.resolve("pool"));
        Files.createDirectories(tmp.resolve("state"));
        Command.ok("qemu-img", "create", "-q", "-f", "raw", pool.resolve("base.raw").toString(), "16M");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", pool.resolve("mid.qcow2").toString());
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", pool.resolve("top.qcow2").toString());
        PathPolicy policy = PathPolicy.builder().stateDir(tmp.resolve("state")).pool("pool", pool).build();
        ImageChain chain = new ImageChains(new QemuImg(), policy).read("vda", pool.resolve("top.qcow2"), "qcow2");

        // a lone qcow2 whose header names a file that does not exist: with "backing": null QEMU never looks for it
        Path orphan = pool.resolve("orphan.qcow2");
        Command.ok("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "/nonexistent/secret", "-F", "raw", orphan.toString(), "16M");
        ImageChain lone = new ImageChain(List.of(new ImageChain.Layer(orphan, "qcow2", 16 << 20)));

        List<String> args = new ArrayList<>(BlockdevChain.arguments("vda", chain, false));
        args.addAll(BlockdevChain.arguments("vdb", lone, true));
        try (BareQemu qemu = BareQemu.start(args.toArray(String[]::new)); QmpClient qmp = qemu.connect()) {
            JsonNode graph = qmp.execute("x-debug-query-block-graph");
            Map<Long, String> names = new HashMap<>();
            graph.path("nodes").forEach(n -> names.put(n.path("id").asLong(), n.path("name").asText()));
            List<String> edges = new ArrayList<>();
            graph.path("edges").forEach(e -> {
                String parent = names.get(e.path("parent").asLong());
                String child = names.get(e.path("child").asLong());
                if (parent.startsWith("fmt-") || parent.startsWith("file-")) {
                    edges.add(parent + " -" + e.path("name").asText() + "-> " + child);
                }
            });
            assertThat(edges).as(qemu.output()).containsExactlyInAnyOrder(
                    "fmt-vda -file-> file-vda", "fmt-vda -backing-> fmt-vda-1",
                    "fmt-vda-1 -file-> file-vda-1", "fmt-vda-1 -backing-> fmt-vda-2",
                    "fmt-vda-2 -file-> file-vda-2",
                    "fmt-vdb -file-> file-vdb");
            Map<String, String> files = new HashMap<>();
            qmp.execute("query-named-block-nodes", QmpClient.args("flat", true)).forEach(n ->
                    files.put(n.path("node-name").asText(), n.path("file").asText()));
            assertThat(files).containsEntry("file-vda-2", pool.resolve("base.raw").toRealPath().toString())
                    .containsEntry("file-vdb", orphan.toString());
            // QEMU describes the node as an explicit tree: no backing, whatever the header said
            assertThat(files.get("fmt-vdb")).contains("\"backing\": null").doesNotContain("secret");
            // the header still says /nonexistent/secret (image metadata), but no node has a backing file
            qmp.execute("query-named-block-nodes").forEach(n -> {
                if (n.path("node-name").asText().equals("fmt-vdb")) {
                    assertThat(n.path("backing_file_depth").asInt()).isZero();
                    assertThat(n.path("image").path("backing-filename").asText()).isEqualTo("/nonexistent/secret");
                }
            });
            assertThat(files.values()).noneMatch(f -> f.equals("/nonexistent/secret"));
        }
    }
}
