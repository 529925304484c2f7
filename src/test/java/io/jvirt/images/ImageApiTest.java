package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End to end through a real jvirtd: a repository signed with real gpg and served over real HTTP on 127.0.0.1,
 * templates made by mkfs.ext4/xz/qemu-img, volumes checked with qemu-img info and debugfs.
 */
class ImageApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static TestSigningKey key;
    static TestSigningKey otherKey;
    static Path repoDir;
    static TestRepository repo;
    static DaemonProcess daemon;
    static TestHttp http;
    static long tinySize = 32L << 20;

    @BeforeAll
    static void setUp() throws Exception {
        key = TestSigningKey.create("jvirt-repo");
        otherKey = TestSigningKey.create("jvirt-intruder");
        repoDir = Files.createTempDirectory("jvirt-repo-");
        Path good = Files.createDirectories(repoDir.resolve("good"));
        Path evil = Files.createDirectories(repoDir.resolve("evil"));

        Path img = TestRepository.ext4(good.resolve("tiny.img"), 32, Map.of("etc/hostname", "template\n",
                "etc/os-release", "ID=jvirt-test\n", "etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\ttemplate\n",
                "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
                "etc/shadow", "root:*:19000:0:99999:7:::\nalice:*:19000:0:99999:7:::\n",
                "etc/group", "root:x:0:\nshadow:x:42:\nalice:x:1000:\n", "home/alice/.profile", ""));
        TestRepository.xz(img);
        TestRepository.run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", img.toString(),
                good.resolve("tiny.qcow2").toString());
        Files.delete(img);
        // a truncated xz whose checksum is right: the index vouches for a file that does not decompress
        byte[] xz = Files.readAllBytes(good.resolve("tiny.img.xz"));
        Files.write(good.resolve("truncated.img.xz"), java.util.Arrays.copyOf(xz, xz.length / 2));

        // a qcow2 that would pull a host file in through its backing file
        TestRepository.run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw",
                good.resolve("backed.qcow2").toString(), "32M");

        List<IndexEntry> entries = new ArrayList<>();
        entries.add(TestRepository.entry(good, "backed", "backed.qcow2", "qcow2", tinySize, null, true, null));
        entries.add(TestRepository.entry(good, "tiny", "tiny.img.xz", "raw", tinySize, "A tiny ext4 filesystem.\n\nFor tests.",
                false, List.of("tiny-alias")));
        entries.add(TestRepository.entry(good, "tiny-qcow2", "tiny.qcow2", "qcow2", tinySize, "qcow2 copy", false, null));
        entries.add(TestRepository.entry(good, "truncated", "truncated.img.xz", "raw", tinySize, null, true, null));
        IndexEntry t = entries.get(1);
        // same file, but the signed index promises another checksum
        entries.add(new IndexEntry("wrong-sum", "Wrong checksum", "debian12", "x86_64", "tiny.img.xz", "1", "0".repeat(128),
                "raw", tinySize, t.compressedSize(), null, null, false, null, null));
        String index = IndexWriter.write(new TemplateIndex(entries));
        Files.write(good.resolve("index.asc"), key.clearsign(index));
        Files.write(evil.resolve("index.asc"), otherKey.clearsign(index));

        repo = TestRepository.serve(repoDir);
        daemon = DaemonProcess.startNew(
                "--image-source", "good=" + repo.url("good/index.asc") + "," + key.publicKey,
                "--image-source", "evil=" + repo.url("evil/index.asc") + "," + key.publicKey + "," + key.fingerprint);
        http = daemon.http();
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (daemon != null) {
            daemon.close();
        }
        if (repo != null) {
            repo.close();
        }
        if (key != null) {
            key.close();
        }
        if (otherKey != null) {
            otherKey.close();
        }
        if (repoDir != null) {
            try (Stream<Path> walk = Files.walk(repoDir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    Path imageDir() {
        return daemon.stateDir().resolve("pools/default");
    }

    Path cacheDir() {
        return daemon.stateDir().resolve("image-cache");
    }

    static List<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    TestHttp.Response build(String template, Object body) {
        return http.post("/v1/images/" + template + "/build?wait=true", body);
    }

    @Test
    void listsSourcesAndTheTemplatesOfAVerifiedIndex() {
        JsonNode sources = http.get("/v1/images/sources").json();
        assertThat(sources).hasSize(2);
        assertThat(sources.get(0).path("name").asText()).isEqualTo("good");
        assertThat(sources.get(0).path("signature").asText()).isEqualTo("clearsigned");

        TestHttp.Response r = http.get("/v1/images?source=good");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        JsonNode list = r.json();
        assertThat(list.findValuesAsText("id")).containsExactly("tiny", "tiny-qcow2", "wrong-sum"); // hidden not listed
        JsonNode tiny = list.get(0);
        assertThat(tiny.path("name").asText()).isEqualTo("Test template tiny");
        assertThat(tiny.path("osinfo").asText()).isEqualTo("debian12");
        assertThat(tiny.path("size").asLong()).isEqualTo(tinySize);
        assertThat(tiny.path("revision").asText()).isEqualTo("2");
        assertThat(tiny.path("notes").asText()).isEqualTo("A tiny ext4 filesystem.\n\nFor tests.");
        assertThat(tiny.path("aliases").get(0).asText()).isEqualTo("tiny-alias");

        JsonNode info = http.get("/v1/images/tiny-alias?source=good").json();
        assertThat(info.path("template").path("id").asText()).isEqualTo("tiny");
        assertThat(info.path("file").asText()).isEqualTo(repo.url("good/tiny.img.xz"));
    }

    @Test
    void buildsAGrownCustomizedQcow2VolumeFromAnXzTemplate() throws Exception {
        TestHttp.Response r = build("tiny", Map.of("volume", "web1.qcow2", "size", "96M", "format", "qcow2",
                "hostname", "web1.example", "write", List.of("/etc/motd:built by jvirt\n", "/srv/new/dir/file:x")));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        JsonNode result = r.json().path("result");
        Path vol = imageDir().resolve("web1.qcow2");
        assertThat(result.path("path").asText()).isEqualTo(vol.toString());
        assertThat(result.path("virtualSize").asLong()).isEqualTo(96L << 20);

        JsonNode info = JSON.readTree(TestRepository.run("qemu-img", "info", "--output=json", vol.toString()));
        assertThat(info.path("format").asText()).isEqualTo("qcow2");
        assertThat(info.path("virtual-size").asLong()).isEqualTo(96L << 20);

        Path raw = daemon.root().resolve("web1-check.raw");
        TestRepository.run("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", vol.toString(), raw.toString());
        assertThat(Ext4Customizer.read(raw, "/etc/hostname")).isEqualTo("web1.example\n");
        assertThat(Ext4Customizer.read(raw, "/etc/motd")).isEqualTo("built by jvirt\n");
        assertThat(Ext4Customizer.read(raw, "/etc/hosts")).isEqualTo("127.0.0.1\tlocalhost\n127.0.1.1\tweb1.example web1\n");
        assertThat(Ext4Customizer.read(raw, "/srv/new/dir/file")).isEqualTo("x");
        assertThat(Ext4Customizer.read(raw, "/etc/os-release")).isEqualTo("ID=jvirt-test\n");
        // the filesystem was grown with the disk
        String stats = TestRepository.run("dumpe2fs", "-h", raw.toString());
        long blocks = Long.parseLong(stats.lines().filter(l -> l.startsWith("Block count:")).findFirst().orElseThrow()
                .replaceAll("\\D", ""));
        long blockSize = Long.parseLong(stats.lines().filter(l -> l.startsWith("Block size:")).findFirst().orElseThrow()
                .replaceAll("\\D", ""));
        assertThat(blocks * blockSize).isEqualTo(96L << 20);
        ToolRunner.Result fsck = ToolRunner.run(List.of("e2fsck", "-fn", raw.toString()), null, null,
                java.time.Duration.ofMinutes(2));
        assertThat(fsck.exit()).as(fsck.stdout()).isZero();
        Files.delete(raw);

        // the cache holds the verified, decompressed template under its checksum, and nothing half-made
        String sum = http.get("/v1/images/tiny?source=good").json().path("checksumSha512").asText();
        assertThat(names(cacheDir())).contains(sum + ".img").allMatch(n -> !n.endsWith(".part"));
        assertThat(names(imageDir())).allMatch(n -> !n.startsWith("."));
    }

    static String stat(Path raw, String path) {
        return TestRepository.run("debugfs", "-R", "stat " + path, raw.toString());
    }

    @Test
    void aGeneratedPasswordIsShownOnceToTheOperationsOwnReadAndNeverToTheEventStream() throws Exception {
        String redacted = ImageBuilder.Result.REDACTED;
        try (io.jvirt.testing.EventCollector events = new io.jvirt.testing.EventCollector(http, null)) {
            TestHttp.Response started = http.post("/v1/images/tiny/build", Map.of("volume", "secret.raw", "format", "raw",
                    "source", "good", "randomRootPassword", true));
            assertThat(started.status()).as(started.toString()).isIn(200, 202);
            String id = started.json().path("id").asText();
            JsonNode end = events.await(e -> "operation".equals(e.path("type").asText())
                    && id.equals(e.path("operation").path("id").asText())
                    && !"running".equals(e.path("operation").path("status").asText()), java.time.Duration.ofMinutes(2));
            assertThat(end.path("operation").path("status").asText()).isEqualTo("success");

            // the request that started it answered first (finished already, or still running); then one read sees it
            String early = started.json().path("result").path("generatedRootPassword").asText("");
            String password = early.length() == 16 ? early
                    : http.get("/v1/operations/" + id).json().path("result").path("generatedRootPassword").asText();
            assertThat(password).hasSize(16).isNotEqualTo(redacted);
            assertThat(http.get("/v1/operations/" + id).json().path("result").path("generatedRootPassword").asText())
                    .isEqualTo(redacted);
            assertThat(http.get("/v1/operations/" + id + "/wait").json().path("result").path("generatedRootPassword")
                    .asText()).isEqualTo(redacted);
            assertThat(http.get("/v1/operations").text()).doesNotContain(password);
            assertThat(events.all()).isNotEmpty().allSatisfy(e -> assertThat(e.toString()).doesNotContain(password));
            assertThat(end.path("operation").path("result").path("generatedRootPassword").asText()).isEqualTo(redacted);

            // the one shown is the one set
            String hash = Ext4Customizer.read(imageDir().resolve("secret.raw"), "/etc/shadow").lines()
                    .filter(l -> l.startsWith("root:")).findFirst().orElseThrow().split(":")[1];
            assertThat(TestRepository.run("openssl", "passwd", "-6", "-salt", hash.split("\\$")[2], password).strip())
                    .isEqualTo(hash);

            // with ?wait=true the answer is the one read
            TestHttp.Response waited = build("tiny", Map.of("volume", "secret2.raw", "format", "raw", "source", "good",
                    "randomRootPassword", true));
            String second = waited.json().path("result").path("generatedRootPassword").asText();
            assertThat(second).hasSize(16).isNotEqualTo(password);
            String id2 = waited.json().path("id").asText();
            assertThat(http.get("/v1/operations/" + id2).json().path("result").path("generatedRootPassword").asText())
                    .isEqualTo(redacted);
            events.await(e -> id2.equals(e.path("operation").path("id").asText())
                    && "success".equals(e.path("operation").path("status").asText()), java.time.Duration.ofSeconds(30));
            assertThat(events.all()).allSatisfy(e -> assertThat(e.toString()).doesNotContain(second));
        }
    }

    @Test
    void setsRootPasswordInjectsSshKeysAndInstallsFirstbootCommands() throws Exception {
        String key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJvirtTestKeyJvirtTestKeyJvirtTestKey0000 alice@test";
        TestHttp.Response r = build("tiny", Map.of("volume", "cust.raw", "format", "raw", "source", "good",
                "randomRootPassword", true, "sshInject", List.of("alice:" + key, "root:" + key),
                "firstbootCommand", List.of("echo first > /dev/console", "touch /var/lib/booted-once")));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        String password = r.json().path("result").path("generatedRootPassword").asText();
        assertThat(password).hasSize(16);
        Path raw = imageDir().resolve("cust.raw");

        String rootLine = Ext4Customizer.read(raw, "/etc/shadow").lines().filter(l -> l.startsWith("root:")).findFirst()
                .orElseThrow();
        String hash = rootLine.split(":")[1];
        assertThat(hash).startsWith("$6$");
        String salt = hash.split("\\$")[2];
        assertThat(TestRepository.run("openssl", "passwd", "-6", "-salt", salt, password).strip()).isEqualTo(hash);
        assertThat(rootLine).endsWith(":19000:0:99999:7:::");
        assertThat(Ext4Customizer.read(raw, "/etc/shadow")).contains("alice:*:19000");
        assertThat(stat(raw, "/etc/shadow")).contains("Mode:  0640").containsPattern("Group: +42");

        assertThat(Ext4Customizer.read(raw, "/home/alice/.ssh/authorized_keys")).isEqualTo(key + "\n");
        assertThat(stat(raw, "/home/alice/.ssh/authorized_keys")).contains("Mode:  0600").containsPattern("User: +1000");
        assertThat(stat(raw, "/home/alice/.ssh")).contains("Mode:  0700").containsPattern("User: +1000");
        assertThat(Ext4Customizer.read(raw, "/root/.ssh/authorized_keys")).isEqualTo(key + "\n");

        assertThat(Ext4Customizer.read(raw, Ext4Customizer.FIRSTBOOT_SCRIPT))
                .contains("echo first > /dev/console\ntouch /var/lib/booted-once\n");
        assertThat(stat(raw, Ext4Customizer.FIRSTBOOT_SCRIPT)).contains("Mode:  0755");
        assertThat(Ext4Customizer.read(raw, Ext4Customizer.FIRSTBOOT_UNIT)).contains("ConditionPathExists=!");
        assertThat(stat(raw, "/etc/systemd/system/multi-user.target.wants/jvirt-firstboot.service"))
                .contains("Type: symlink").contains(Ext4Customizer.FIRSTBOOT_UNIT);

        ToolRunner.Result fsck = ToolRunner.run(List.of("e2fsck", "-fn", raw.toString()), null, null,
                java.time.Duration.ofMinutes(2));
        assertThat(fsck.exit()).as(fsck.stdout()).isZero();

        TestHttp.Response noUser = build("tiny", Map.of("volume", "nouser.raw", "source", "good", "sshInject",
                List.of("bob:" + key)));
        assertThat(noUser.errorCode()).as(noUser.toString()).isEqualTo("invalid-argument");
        assertThat(noUser.json().path("error").path("message").asText()).contains("no user 'bob'");
        TestHttp.Response badKey = build("tiny", Map.of("volume", "badkey.raw", "source", "good", "sshInject",
                List.of("root:not a key")));
        assertThat(badKey.errorCode()).isEqualTo("invalid-argument");
        assertThat(names(imageDir())).doesNotContain("nouser.raw", "badkey.raw");
    }

    @Test
    void buildsFromTheCacheAndFromAQcow2TemplateWithoutCustomization() throws Exception {
        TestHttp.Response first = build("tiny", Map.of("volume", "plain.raw", "format", "raw"));
        assertThat(first.status()).as(first.toString()).isEqualTo(200);
        TestHttp.Response again = build("tiny-alias", Map.of("volume", "plain2.raw", "format", "raw"));
        assertThat(again.status()).as(again.toString()).isEqualTo(200);
        assertThat(again.json().path("result").path("cached").asBoolean()).isTrue();
        assertThat(Files.size(imageDir().resolve("plain2.raw"))).isEqualTo(tinySize);
        assertThat(Ext4Customizer.read(imageDir().resolve("plain2.raw"), "/etc/hostname")).isEqualTo("template\n");

        TestHttp.Response q = build("tiny-qcow2", Map.of("volume", "from-qcow2.raw", "format", "raw", "size", 64 << 20));
        assertThat(q.status()).as(q.toString()).isEqualTo(200);
        JsonNode info = JSON.readTree(TestRepository.run("qemu-img", "info", "--output=json",
                imageDir().resolve("from-qcow2.raw").toString()));
        assertThat(info.path("format").asText()).isEqualTo("raw");
        assertThat(info.path("virtual-size").asLong()).isEqualTo(64L << 20);
        assertThat(Ext4Customizer.read(imageDir().resolve("from-qcow2.raw"), "/etc/hostname")).isEqualTo("template\n");
    }

    @Test
    void refusesBadInputWithClearErrorsAndLeavesNothingBehind() throws Exception {
        List<String> before = names(imageDir());

        TestHttp.Response badSig = http.get("/v1/images?source=evil");
        assertThat(badSig.status()).as(badSig.toString()).isEqualTo(502);
        assertThat(badSig.errorCode()).isEqualTo("bad-signature");
        assertThat(badSig.json().path("error").path("message").asText()).contains("evil").contains("not the source's trusted key");
        assertThat(http.get("/v1/images").errorCode()).isEqualTo("bad-signature"); // one bad source fails the listing
        TestHttp.Response badSigBuild = build("tiny", Map.of("volume", "evil.qcow2", "source", "evil"));
        assertThat(badSigBuild.errorCode()).as(badSigBuild.toString()).isEqualTo("bad-signature");

        TestHttp.Response sum = build("wrong-sum", Map.of("volume", "sum.qcow2"));
        assertThat(sum.status()).as(sum.toString()).isEqualTo(502);
        assertThat(sum.errorCode()).isEqualTo("checksum-mismatch");
        assertThat(sum.json().path("error").path("message").asText()).contains("download deleted");

        TestHttp.Response truncated = build("truncated", Map.of("volume", "trunc.qcow2"));
        assertThat(truncated.errorCode()).as(truncated.toString()).isEqualTo("bad-index");
        assertThat(truncated.json().path("error").path("message").asText()).contains("does not decompress");

        TestHttp.Response backed = build("backed", Map.of("volume", "backed.qcow2", "source", "good"));
        assertThat(backed.errorCode()).as(backed.toString()).isEqualTo("bad-index");
        assertThat(backed.json().path("error").path("message").asText()).contains("backing or data file");

        TestHttp.Response unknown = build("no-such-os", Map.of("volume", "x.qcow2", "source", "good"));
        assertThat(unknown.status()).as(unknown.toString()).isEqualTo(404);
        assertThat(unknown.errorCode()).isEqualTo("image-not-found");

        for (String escape : List.of("../escape.qcow2", "a/b.qcow2", "..", ".hidden", "/etc/passwd")) {
            TestHttp.Response r = build("tiny", Map.of("volume", escape));
            assertThat(r.status()).as(escape + ": " + r).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("invalid-name");
        }
        assertThat(daemon.stateDir().resolve("escape.qcow2")).doesNotExist();

        TestHttp.Response small = build("tiny", Map.of("volume", "small.qcow2", "size", "1M"));
        assertThat(small.errorCode()).as(small.toString()).isEqualTo("invalid-argument");
        assertThat(small.json().path("error").path("message").asText()).contains("smaller than template");

        TestHttp.Response badHost = build("tiny", Map.of("volume", "h.qcow2", "hostname", "bad host;rm"));
        assertThat(badHost.errorCode()).isEqualTo("invalid-argument");
        TestHttp.Response badWrite = build("tiny", Map.of("volume", "w.qcow2", "write", List.of("/etc/../x:y")));
        assertThat(badWrite.errorCode()).isEqualTo("invalid-argument");
        TestHttp.Response badFormat = build("tiny", Map.of("volume", "f.vmdk", "format", "vmdk"));
        assertThat(badFormat.errorCode()).isEqualTo("invalid-argument");

        assertThat(names(imageDir())).isEqualTo(before.stream().filter(n -> !n.startsWith(".")).toList());
        assertThat(names(imageDir())).noneMatch(n -> n.startsWith(".") || n.startsWith("sum") || n.startsWith("trunc")
                || n.startsWith("evil") || n.startsWith("small") || n.startsWith("backed"));
        assertThat(names(cacheDir())).noneMatch(n -> n.endsWith(".part") || n.startsWith("0000"));
    }

    @Test
    void buildDefinesAVmWithTheVolumeAndRefusesATakenNameBeforeBuilding() throws Exception {
        Map<String, Object> vm = Map.of("name", "from-image", "memoryMiB", 128, "boot", Map.of(
                "kernel", io.jvirt.testing.TestGuest.kernel().toString(),
                "initrd", io.jvirt.testing.TestGuest.initrd().toString()));
        TestHttp.Response r = build("tiny", Map.of("volume", "vm-disk.qcow2", "source", "good", "vm", vm));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        JsonNode def = http.get("/v1/vms/from-image").json().path("definition");
        assertThat(def.path("disks").get(0).path("path").asText()).isEqualTo(imageDir().resolve("vm-disk.qcow2").toString());
        assertThat(def.path("disks").get(0).path("format").asText()).isEqualTo("qcow2");

        TestHttp.Response taken = build("tiny", Map.of("volume", "vm-disk2.qcow2", "source", "good", "vm", vm));
        assertThat(taken.status()).as(taken.toString()).isEqualTo(409);
        assertThat(taken.errorCode()).isEqualTo("vm-exists");
        TestHttp.Response badName = build("tiny", Map.of("volume", "vm-disk3.qcow2", "source", "good",
                "vm", Map.of("name", "../x")));
        assertThat(badName.errorCode()).isEqualTo("invalid-name");
        // a definition the daemon refuses after the build (no such kernel): the volume is removed again
        TestHttp.Response badKernel = build("tiny", Map.of("volume", "vm-disk4.qcow2", "source", "good",
                "vm", Map.of("name", "bad-kernel", "boot", Map.of("kernel", "/nonexistent/vmlinuz"))));
        assertThat(badKernel.errorCode()).as(badKernel.toString()).isEqualTo("disk-not-found");
        assertThat(names(imageDir())).doesNotContain("vm-disk2.qcow2", "vm-disk3.qcow2", "vm-disk4.qcow2");
        assertThat(http.delete("/v1/vms/from-image").status()).isEqualTo(200);
    }

    @Test
    void exportsABundleThatRunsWithQemuAloneAndImportsIt() throws Exception {
        Map<String, Object> vm = Map.of("name", "bundled", "memoryMiB", 128, "boot", Map.of(
                "kernel", io.jvirt.testing.TestGuest.kernel().toString(),
                "initrd", io.jvirt.testing.TestGuest.initrd().toString(), "cmdline", "console=ttyS0"));
        TestHttp.Response built = build("tiny", Map.of("volume", "bundled.qcow2", "source", "good", "hostname",
                "bundled-host", "vm", vm));
        assertThat(built.status()).as(built.toString()).isEqualTo(200);

        TestHttp.Response exported = http.post("/v1/vms/bundled/export?wait=true", Map.of("description", "A test bundle."));
        assertThat(exported.status()).as(exported.toString()).isEqualTo(200);
        Path tar = daemon.stateDir().resolve("bundles/bundled.tar");
        assertThat(exported.json().path("result").path("bundle").asText()).isEqualTo(tar.toString());
        assertThat(TestRepository.run("tar", "--list", "--file", tar.toString()).lines().sorted().toList()).containsExactly(
                "bundled/", "bundled/README", "bundled/SOURCES", "bundled/disk-vda.qcow2", "bundled/initrd.img",
                "bundled/run", "bundled/vm.json", "bundled/vmlinuz");
        assertThat(http.post("/v1/vms/bundled/export?wait=true", Map.of()).errorCode()).isEqualTo("volume-exists");

        // the run script boots the guest with QEMU alone
        Path out = Files.createDirectories(daemon.root().resolve("unpacked"));
        TestRepository.run("tar", "--extract", "--file", tar.toString(), "--directory", out.toString());
        assertThat(Files.readString(out.resolve("bundled/README"))).contains("A test bundle.");
        assertThat(Files.readString(out.resolve("bundled/SOURCES"))).contains("disk-vda.qcow2");
        Process qemu = new ProcessBuilder("sh", out.resolve("bundled/run").toString())
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        try {
            var reader = new java.io.BufferedReader(new java.io.InputStreamReader(qemu.getInputStream()));
            var seen = new StringBuilder();
            var ready = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    String line;
                    while ((line = reader.readLine()) != null) {
                        seen.append(line).append('\n');
                        if (line.contains(io.jvirt.testing.TestGuest.READY)) {
                            return true;
                        }
                    }
                } catch (IOException e) {
                    // QEMU ended
                }
                return false;
            });
            assertThat(ready.get(3, java.util.concurrent.TimeUnit.MINUTES)).as(seen.toString()).isTrue();
        } finally {
            qemu.destroyForcibly();
            qemu.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }

        TestHttp.Response imported = http.post("/v1/images/import?wait=true", Map.of("file", "bundled.tar",
                "name", "bundled-copy"));
        assertThat(imported.status()).as(imported.toString()).isEqualTo(200);
        JsonNode def = http.get("/v1/vms/bundled-copy").json().path("definition");
        Path disk = Path.of(def.path("disks").get(0).path("path").asText());
        assertThat(disk).isEqualTo(imageDir().resolve("bundled-copy-vda.qcow2"));
        assertThat(def.path("boot").path("kernel").asText()).isEqualTo(imageDir().resolve("bundled-copy-vmlinuz").toString());
        Path raw = daemon.root().resolve("bundled-check.raw");
        TestRepository.run("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", disk.toString(), raw.toString());
        assertThat(Ext4Customizer.read(raw, "/etc/hostname")).isEqualTo("bundled-host\n");
        Files.delete(raw);
        TestHttp.Response again = http.post("/v1/images/import?wait=true", Map.of("file", "bundled.tar", "name", "bundled-copy"));
        assertThat(again.status()).as(again.toString()).isEqualTo(409);
        Cli cliExport = jvirt("image", "export", "bundled", "--file", "cli.tar");
        assertThat(cliExport.exit()).as(cliExport.toString()).isZero();
        assertThat(cliExport.out()).contains("exported to " + daemon.stateDir().resolve("bundles/cli.tar"));
        Cli cliImport = jvirt("image", "import", "cli.tar", "--name", "cli-copy");
        assertThat(cliImport.exit()).as(cliImport.toString()).isZero();
        assertThat(cliImport.out()).contains("VM cli-copy imported from cli.tar");

        // bad archives: nothing is defined, nothing lands in the image directory, no staging is left
        Path bundles = daemon.stateDir().resolve("bundles");
        Path src = Files.createDirectories(daemon.root().resolve("badsrc/x"));
        Files.writeString(src.resolve("a"), "a");
        Files.createSymbolicLink(src.resolve("link"), Path.of("/etc/passwd"));
        TestRepository.run("tar", "--create", "--file", bundles.resolve("dotdot.tar").toString(), "--absolute-names",
                "--directory", src.toString(), "--transform", "s,^,../,", "a");
        TestRepository.run("tar", "--create", "--file", bundles.resolve("absolute.tar").toString(), "--absolute-names",
                src.resolve("a").toString());
        TestRepository.run("tar", "--create", "--file", bundles.resolve("symlink.tar").toString(), "--directory",
                src.getParent().toString(), "x");
        Files.delete(src.resolve("link"));
        TestRepository.run("tar", "--create", "--file", bundles.resolve("novmjson.tar").toString(), "--directory",
                src.getParent().toString(), "x");
        Files.writeString(bundles.resolve("garbage.tar"), "not a tar");
        List<String> before = names(imageDir());
        Map<String, String> expected = Map.of("dotdot.tar", "not a plain relative path", "absolute.tar",
                "not a plain relative path", "symlink.tar", "symbolic link", "novmjson.tar", "no x/vm.json",
                "garbage.tar", "not a readable tar archive");
        for (var e : expected.entrySet()) {
            TestHttp.Response r = http.post("/v1/images/import?wait=true", Map.of("file", e.getKey(), "name", "bad-import"));
            assertThat(r.status()).as(e.getKey() + ": " + r).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("bad-bundle");
            assertThat(r.json().path("error").path("message").asText()).as(e.getKey()).contains(e.getValue());
        }
        assertThat(http.post("/v1/images/import", Map.of("file", "../x.tar")).errorCode()).isEqualTo("invalid-name");
        assertThat(http.get("/v1/vms/bad-import").status()).isEqualTo(404);
        assertThat(names(imageDir())).isEqualTo(before);
        assertThat(names(bundles)).noneMatch(n -> n.startsWith("."));
    }

    @Test
    void refusesToOverwriteAnExistingVolume() {
        TestHttp.Response r = build("tiny", Map.of("volume", "dup.raw", "format", "raw"));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        TestHttp.Response again = build("tiny", Map.of("volume", "dup.raw", "format", "raw"));
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.errorCode()).isEqualTo("volume-exists");
    }

    record Cli(int exit, String out, String err) {
    }

    static Cli jvirt(String... args) {
        var out = new java.io.ByteArrayOutputStream();
        var err = new java.io.ByteArrayOutputStream();
        List<String> full = new ArrayList<>(List.of("--socket", daemon.socket().toString()));
        full.addAll(List.of(args));
        int exit = io.jvirt.cli.JvirtCli.run(full.toArray(String[]::new),
                new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        return new Cli(exit, out.toString(java.nio.charset.StandardCharsets.UTF_8),
                err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void cliListsShowsNotesAndBuilds() throws Exception {
        Cli list = jvirt("image", "list", "--source", "good");
        assertThat(list.exit()).as(list.toString()).isZero();
        assertThat(list.out().lines().toList()).first().asString().startsWith("ID");
        assertThat(list.out()).containsPattern("(?m)^tiny +x86_64 +good +Test template tiny$");

        Cli notes = jvirt("image", "notes", "tiny", "--source", "good");
        assertThat(notes.exit()).as(notes.toString()).isZero();
        assertThat(notes.out()).contains("Revision: 2").contains("A tiny ext4 filesystem.\n\nFor tests.");

        Cli sources = jvirt("image", "sources");
        assertThat(sources.out()).contains("good").contains("evil").contains("clearsigned");

        Path keyFile = Files.writeString(daemon.root().resolve("id.pub"),
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJvirtCliKey alice@cli\n");
        Cli build = jvirt("image", "build", "tiny", "--source", "good", "--output-volume", "cli.qcow2", "--size", "48M",
                "--hostname", "cli-host", "--write", "/etc/issue:hello", "--root-password", "random",
                "--ssh-inject", "alice:file:" + keyFile, "--firstboot-command", "true");
        assertThat(build.exit()).as(build.toString()).isZero();
        assertThat(build.out()).contains("Volume cli.qcow2 built from tiny").contains(imageDir().resolve("cli.qcow2").toString())
                .containsPattern("Root password \\(shown once\\): [A-Za-z0-9]{16}");
        Cli badPw = jvirt("image", "build", "tiny", "--output-volume", "pw.qcow2", "--root-password", "plain");
        assertThat(badPw.exit()).isEqualTo(io.jvirt.cli.JvirtCli.EXIT_USAGE);
        JsonNode info = JSON.readTree(TestRepository.run("qemu-img", "info", "--output=json",
                imageDir().resolve("cli.qcow2").toString()));
        assertThat(info.path("virtual-size").asLong()).isEqualTo(48L << 20);

        Cli unknown = jvirt("image", "build", "nope", "--source", "good", "--output-volume", "n.qcow2");
        assertThat(unknown.exit()).isEqualTo(io.jvirt.cli.JvirtCli.EXIT_NOT_FOUND);
        assertThat(unknown.err()).contains("no template 'nope'");
        Cli escape = jvirt("image", "build", "tiny", "--source", "good", "--output-volume", "../x");
        assertThat(escape.exit()).isEqualTo(io.jvirt.cli.JvirtCli.EXIT_INVALID);
        Cli evil = jvirt("image", "list", "--source", "evil");
        assertThat(evil.exit()).isEqualTo(io.jvirt.cli.JvirtCli.EXIT_FAILURE);
        assertThat(evil.err()).contains("not validly signed");
    }

    @Test
    void cliFetchesATemplateOnceAndUploadsFiles() throws Exception {
        Cli first = jvirt("image", "fetch", "tiny", "--source", "good");
        assertThat(first.exit()).as(first.toString()).isZero();
        assertThat(first.out()).contains("Template tiny (revision 2, source good)");
        String sum = http.get("/v1/images/tiny?source=good").json().path("checksumSha512").asText();
        assertThat(names(cacheDir())).contains(sum + ".img");
        Cli again = jvirt("image", "fetch", "tiny", "--source", "good");
        assertThat(again.out()).contains("was already cached");
        assertThat(jvirt("image", "fetch", "nope", "--source", "good").exit()).isEqualTo(io.jvirt.cli.JvirtCli.EXIT_NOT_FOUND);

        Path local = Files.writeString(daemon.root().resolve("motd.txt"), "uploaded by the client\nline 2\n");
        Cli up = jvirt("image", "build", "tiny", "--source", "good", "--output-volume", "up.qcow2",
                "--upload", local + ":/etc/motd");
        assertThat(up.exit()).as(up.toString()).isZero();
        Path raw = daemon.root().resolve("up-check.raw");
        TestRepository.run("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw",
                imageDir().resolve("up.qcow2").toString(), raw.toString());
        assertThat(Ext4Customizer.read(raw, "/etc/motd")).isEqualTo("uploaded by the client\nline 2\n");
        Files.delete(raw);

        // binary uploads: ImageCliTest; a file that is not there is refused before anything is sent
        Path missing = daemon.root().resolve("missing.bin");
        Cli refused = jvirt("image", "build", "tiny", "--source", "good", "--output-volume", "bin.qcow2",
                "--upload", missing + ":/etc/blob");
        assertThat(refused.exit()).isEqualTo(io.jvirt.cli.JvirtCli.EXIT_INVALID);
        assertThat(refused.err()).contains("--upload: " + missing + " is not a readable regular file");
        assertThat(names(imageDir())).doesNotContain("bin.qcow2");
    }
}
