package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.cli.Json;
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
        // the other tests may have fetched the template already
        try (Stream<Path> cached = Files.list(daemon.stateDir().resolve("image-cache"))) {
            for (Path p : cached.toList()) {
                Files.delete(p);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // nothing fetched yet
        }
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

    static List<String> staged() {
        String[] names = daemon.stateDir().resolve("image-uploads").toFile().list();
        return names == null ? List.of() : List.of(names);
    }

    @Test
    void uploadsBinaryFilesByteForByteAndRefusesOversizedOnes() throws Exception {
        // random bytes (every byte value, NULs, invalid UTF-8), larger than the 1 MiB JSON body limit
        byte[] blob = new byte[(1 << 20) + 12345];
        new java.util.Random(42).nextBytes(blob);
        blob[0] = 0;
        blob[1] = (byte) 0xff;
        Path local = Files.write(root.resolve("blob.bin"), blob);
        Path text = Files.writeString(root.resolve("motd.txt"), "text still works\n");
        Cli up = jvirt("image", "build", "tiny", "--output-volume", "blob.qcow2", "--upload", local + ":/opt/data/blob.bin",
                "--upload", text + ":/etc/motd");
        assertThat(up.exit()).as(up.toString()).isZero();
        assertThat(up.visibleErrLines()).contains(done(String.format("%.1f MiB", (blob.length + 17) / 1048576.0), "customize"));

        Path raw = root.resolve("blob-check.raw");
        Path back = root.resolve("blob-back.bin");
        try {
            TestRepository.run("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw",
                    imageDir().resolve("blob.qcow2").toString(), raw.toString());
            ToolRunner.Result cat = ToolRunner.run(List.of("debugfs", "-R", "cat /opt/data/blob.bin", raw.toString()), back,
                    null, java.time.Duration.ofMinutes(1));
            assertThat(cat.ok()).isTrue();
            assertThat(Files.readAllBytes(back)).isEqualTo(blob);
            assertThat(Ext4Customizer.read(raw, "/etc/motd")).isEqualTo("text still works\n");
            assertThat(TestRepository.run("debugfs", "-R", "stat /opt/data/blob.bin", raw.toString()))
                    .contains("Mode:  0644").containsPattern("User: +0 +Group: +0").contains("Size: " + blob.length);
            assertThat(TestRepository.run("e2fsck", "-fn", raw.toString())).doesNotContain("ERROR");
        } finally {
            Files.deleteIfExists(raw);
            Files.deleteIfExists(back);
        }
        // the build used its uploads up
        assertThat(staged()).isEmpty();

        // larger than 64 MiB: refused by the CLI before anything is sent...
        Path big = root.resolve("big.bin");
        try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(io.jvirt.images.Uploads.MAX_BYTES + 1);
        }
        Cli tooBig = jvirt("image", "build", "tiny", "--output-volume", "big.qcow2", "--upload", big + ":/big");
        assertThat(tooBig.exit()).isEqualTo(JvirtCli.EXIT_INVALID);
        assertThat(tooBig.err()).contains("--upload: " + big + " is 67108865 bytes; an upload may hold at most 67108864"
                + " bytes (64 MiB)");
        // ...and by the daemon when a client announces it anyway: answered from the headers, before any byte is stored
        assertThat(rawUploadHeadersOnly(io.jvirt.images.Uploads.MAX_BYTES + 1))
                .startsWith("HTTP/1.1 400").contains("invalid-argument").contains("at most 67108864 bytes (64 MiB)");
        assertThat(staged()).isEmpty();
        try (io.jvirt.cli.ApiClient api = io.jvirt.cli.ApiClient.unixSocket(daemon.socket())) {
            // an upload id that does not exist, and one given with a bad guest path: refused, and the staged file goes
            String id = Json.parse(api.callRaw("POST", "/v1/images/uploads", Map.of(), new byte[] {1, 2, 3},
                    "application/octet-stream")).path("id").asText();
            assertThat(staged()).containsExactly(id + ".upload");
            TestHttp.Response badPath = http.post("/v1/images/tiny/build?wait=true",
                    Map.of("volume", "bad.qcow2", "upload", List.of(id + ":relative/path")));
            assertThat(badPath.status()).isEqualTo(400);
            assertThat(badPath.text()).contains("guest path 'relative/path' must be absolute");
            assertThat(staged()).isEmpty();
            TestHttp.Response unknown = http.post("/v1/images/tiny/build?wait=true",
                    Map.of("volume", "bad.qcow2", "upload", List.of(id + ":/etc/x")));
            assertThat(unknown.status()).isEqualTo(400);
            assertThat(unknown.text()).contains("no upload '" + id + "'");
        }
        assertThat(Arrays.asList(imageDir().toFile().list())).doesNotContain("big.qcow2", "bad.qcow2");
        Files.delete(big);
    }

    /** Sends only the head of an upload request announcing {@code length} bytes and returns the daemon's answer. */
    static String rawUploadHeadersOnly(long length) throws Exception {
        try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(daemon.socket()))) {
            ch.write(java.nio.ByteBuffer.wrap(("POST /v1/images/uploads HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: " + length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            var answer = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                var got = new ByteArrayOutputStream();
                var buf = java.nio.ByteBuffer.allocate(4096);
                try {
                    // until the JSON error body is complete (the daemon may keep the connection open for the body)
                    while (!got.toString(StandardCharsets.UTF_8).contains("}}") && ch.read(buf.clear()) > 0) {
                        got.write(buf.array(), 0, buf.position());
                    }
                } catch (IOException e) {
                    // closed: what arrived is the answer
                }
                return got.toString(StandardCharsets.UTF_8);
            });
            return answer.get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
