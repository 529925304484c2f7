package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository scripts/build-templates.sh writes (tiny template only: seconds) against the real tools: gpg and
 * our verifier accept its index.asc, our parser reads it, and — where libguestfs-tools is installed —
 * virt-index-validate accepts it and Debian's virt-builder lists it and prints its notes.
 */
class VirtBuilderCompatTest {
    @Test
    void scriptRepositoryIsReadByUsAndByVirtBuilder(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("repo");
        ToolRunner.Result built = ToolRunner.run(List.of("bash", "scripts/build-templates.sh", out.toString(), "--no-debian"),
                null, null, Duration.ofMinutes(5));
        assertThat(built.exit()).as(built.stderr()).isZero();
        String fpr = Files.readString(out.resolve("fingerprint")).strip();

        byte[] verified = new GpgVerifier().verifyClearsigned("script", Files.readAllBytes(out.resolve("index.asc")),
                out.resolve("jvirt-templates.pub.asc"), fpr);
        TemplateIndex index = IndexParser.parse(new String(verified, StandardCharsets.UTF_8));
        assertThat(index).isEqualTo(IndexParser.parse(Files.readString(out.resolve("index"))));
        IndexEntry tiny = index.find("tiny").orElseThrow();
        assertThat(tiny.id()).isEqualTo("jvirt-tiny-fs");
        assertThat(tiny.checksumSha512()).isEqualTo(TestRepository.sha512(out.resolve(tiny.file())));
        assertThat(tiny.notes()).contains("\n\n");
        // what we write from the parsed index is byte for byte what the script wrote
        assertThat(IndexWriter.write(index)).isEqualTo(Files.readString(out.resolve("index")));

        assumeTrue(onPath("virt-index-validate"), "libguestfs-tools (virt-index-validate) not installed");
        ToolRunner.Result valid = ToolRunner.run(List.of("virt-index-validate", out.resolve("index.asc").toString()), null,
                null, Duration.ofMinutes(1));
        assertThat(valid.exit()).as(valid.stderr()).isZero();

        assumeTrue(onPath("virt-builder") && onPath("unshare"), "virt-builder or unshare not installed");
        // virt-builder always also reads /etc/virt-builder/repos.d (whose sources are on the internet): hide it in a
        // private mount namespace behind a directory holding only our repos.d entry.
        Path reposD = Files.createDirectories(tmp.resolve("repos.d"));
        Files.writeString(reposD.resolve("jvirt.conf"), "[jvirt]\nuri=file://" + out.resolve("index.asc")
                + "\ngpgkey=file://" + out.resolve("jvirt-templates.pub.asc") + "\n");
        Map<String, String> env = Map.of("HOME", tmp.toString(), "XDG_CACHE_HOME", tmp.resolve("cache").toString(),
                "XDG_CONFIG_HOME", tmp.resolve("config").toString());
        ToolRunner.Result probe = ToolRunner.run(List.of("unshare", "-m", "true"), null, null, Duration.ofSeconds(30));
        assumeTrue(probe.ok(), "no mount namespaces here: " + probe.stderr());
        String script = "mount --bind \"$1\" /etc/virt-builder/repos.d && virt-builder --list && virt-builder --notes tiny";
        ToolRunner.Result vb = ToolRunner.run(List.of("unshare", "-m", "sh", "-c", script, "sh", reposD.toString()), null,
                env, Duration.ofMinutes(3));
        assertThat(vb.exit()).as(vb.stderr()).isZero();
        assertThat(vb.stdout()).containsPattern("(?m)^jvirt-tiny-fs +x86_64 +jvirt tiny ext4 filesystem \\(test\\)$");
        assertThat(vb.stdout()).contains("It does not boot; it is what jvirt's tests build volumes from.");
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/usr/bin", tool));
    }
}
