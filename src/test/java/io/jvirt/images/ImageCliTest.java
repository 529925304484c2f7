package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.cli.JvirtCli;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real jvirtd whose only good source comes from {@code <state-dir>/repos.d/*.conf}, pointing at a file://
 * repository signed with real gpg, beside a broken .conf file; driven through the real CLI (in process, its stdout
 * and stderr captured): source problems, progress bars of fetch and build.
 */
class ImageCliTest {
    static TestSigningKey key;
    static Path repoDir;
    static Path root;
    static DaemonProcess daemon;
    static TestHttp http;

    @BeforeAll
    static void setUp() throws Exception {
        key = TestSigningKey.create("jvirt-reposd");
        repoDir = Files.createTempDirectory("jvirt-file-repo-");
        Path img = TestRepository.ext4(repoDir.resolve("tiny.img"), 32, Map.of("etc/hostname", "template\n",
                "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
        TestRepository.xz(img);
        Files.delete(img);
        String index = IndexWriter.write(new TemplateIndex(List.of(
                TestRepository.entry(repoDir, "tiny", "tiny.img.xz", "raw", 32L << 20, null, false, null))));
        Files.write(repoDir.resolve("index.asc"), key.clearsign(index));

        root = Files.createTempDirectory("jvirt-test-");
        Path reposD = Files.createDirectories(root.resolve("state").resolve("repos.d"));
        Files.writeString(reposD.resolve("local.conf"), """
                # written as for virt-builder, plus jvirt's fingerprint pin
                [local]
                uri=%s
                gpgkey=%s
                fingerprint=%s
                proxy=system
                """.formatted(repoDir.resolve("index.asc").toUri(), key.publicKey.toUri(), key.fingerprint));
        Files.writeString(reposD.resolve("broken.conf"), """
                [broken]
                uri http://example.invalid/index.asc
                """);
        daemon = new DaemonProcess(root);
        daemon.start();
        http = daemon.http();
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (daemon != null) {
            daemon.close();
        }
        if (key != null) {
            key.close();
        }
        for (Path dir : new Path[] {repoDir, root}) {
            if (dir != null && Files.exists(dir)) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    record Cli(int exit, String out, String err) {
        /** What a terminal shows of stderr: each line as its last carriage-return segment (String.lines splits at \r). */
        List<String> visibleErrLines() {
            return Arrays.stream(err.split("\n")).map(l -> l.substring(l.lastIndexOf('\r') + 1).stripTrailing()).toList();
        }
    }

    static Cli jvirt(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        List<String> full = new ArrayList<>(List.of("--socket", daemon.socket().toString()));
        full.addAll(List.of(args));
        int exit = JvirtCli.run(full.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Cli(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path imageDir() {
        return daemon.stateDir().resolve("pools/default");
    }

    /** A finished phase's line: full bar, 100 %, bytes of bytes, the phase. */
    static String done(String size, String phase) {
        return "[" + "#".repeat(30) + "] 100.0 % " + size + " of " + size + "  " + phase;
    }

    @Test
    void sourcesFromReposDLoadBesideABrokenFileWhoseProblemIsShown() {
        Cli sources = jvirt("image", "sources");
        assertThat(sources.exit()).as(sources.toString()).isZero();
        assertThat(sources.out()).containsPattern("(?m)^local +clearsigned +file://" + repoDir + "/index.asc ");
        Path reposD = daemon.stateDir().resolve("repos.d");
        assertThat(sources.err().lines().toList()).containsExactly(
                reposD.resolve("broken.conf") + ":2: error: expected [name] or key=value, got 'uri http://example.invalid/"
                        + "index.asc'; the whole file is ignored",
                reposD.resolve("local.conf") + ":6: note: [local] proxy=system is ignored: jvirtd fetches every source"
                        + " through the JVM's own proxy settings (-Dhttp(s).proxyHost, none by default)");
        JsonNode problems = http.get("/v1/images/sources/problems").json();
        assertThat(problems).hasSize(2);
        assertThat(problems.get(0).path("line").asInt()).isEqualTo(2);
        assertThat(problems.get(0).path("severity").asText()).isEqualTo("error");

        Cli list = jvirt("image", "list");
        assertThat(list.exit()).as(list.toString()).isZero();
        assertThat(list.out()).containsPattern("(?m)^tiny +x86_64 +local +Test template tiny$");
        // the daemon logged it at start too
        assertThat(daemon.log()).content().contains("broken.conf:2: error:");
    }

    @Test
    void fetchAndBuildDrawEachPhaseAsAProgressBarOnStderr() throws Exception {
        Cli fetch = jvirt("image", "fetch", "tiny");
        assertThat(fetch.exit()).as(fetch.toString()).isZero();
        assertThat(fetch.out()).startsWith("Template tiny (revision 2, source local) fetched and verified");
        String xzSize = String.format("%.1f KiB", Files.size(repoDir.resolve("tiny.img.xz")) / 1024.0);
        assertThat(fetch.visibleErrLines()).containsExactly("resolve local", done(xzSize, "download"),
                done(xzSize, "verify"), done(xzSize, "decompress"));
        assertThat(fetch.err()).endsWith("\n");

        Cli build = jvirt("image", "build", "tiny", "--output-volume", "bar.qcow2", "--size", "48M",
                "--hostname", "bar-host");
        assertThat(build.exit()).as(build.toString()).isZero();
        assertThat(build.out()).startsWith("Volume bar.qcow2 built from tiny");
        assertThat(build.visibleErrLines()).containsExactly("resolve local", "cached", done("32.0 MiB", "convert"),
                done("48.0 MiB", "resize"), done("9 B", "customize"), done("48.0 MiB", "convert"));
        assertThat(build.err()).endsWith("\n");

        // machine-readable output and --no-progress draw nothing
        Cli json = jvirt("-o", "json", "image", "build", "tiny", "--output-volume", "quiet.qcow2");
        assertThat(json.exit()).as(json.toString()).isZero();
        assertThat(json.err()).isEmpty();
        assertThat(json.out()).contains("\"status\" : \"success\"");
        Cli quiet = jvirt("image", "fetch", "tiny", "--no-progress");
        assertThat(quiet.exit()).isZero();
        assertThat(quiet.err()).isEmpty();
        assertThat(quiet.out()).contains("was already cached");

        // a failure still ends the line and reports the error
        Cli missing = jvirt("image", "build", "nope", "--output-volume", "n.qcow2");
        assertThat(missing.exit()).isEqualTo(JvirtCli.EXIT_NOT_FOUND);
        assertThat(missing.err()).contains("no template 'nope'");
        assertThat(Arrays.asList(imageDir().toFile().list())).contains("bar.qcow2", "quiet.qcow2").doesNotContain("n.qcow2");
    }
}
