package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.storage.QemuImg;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jvirt-publish} (PublishTool): a directory of images becomes a signed repository that jvirt then builds from. */
class RepositoryPublisherTest {
    @Test
    void publishesSignsKeepsMetadataAndBumpsRevisions(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("repo"));
        TestRepository.ext4(dir.resolve("alpha.img"), 40, Map.of("etc/hostname", "alpha\n"));
        TestRepository.run("qemu-img", "create", "-q", "-f", "qcow2", dir.resolve("beta.qcow2").toString(), "1G");
        try (TestSigningKey key = TestSigningKey.create("jvirt-publisher")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = PublishTool.run(new String[] {dir.toString(), "--key", key.fingerprint,
                "--gnupg-home", key.home().toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertThat(exit).as(err.toString(StandardCharsets.UTF_8)).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("alpha").contains("beta").contains("signed");

            byte[] verified = new GpgVerifier().verifyClearsigned("p", Files.readAllBytes(dir.resolve("index.asc")),
                    key.publicKey, key.fingerprint);
            TemplateIndex index = IndexParser.parse(new String(verified, StandardCharsets.UTF_8));
            IndexEntry alpha = index.find("alpha").orElseThrow();
            assertThat(alpha.file()).isEqualTo("alpha.img.xz");
            assertThat(alpha.formatOrRaw()).isEqualTo("raw");
            assertThat(alpha.size()).isEqualTo(40L << 20);
            assertThat(alpha.checksumSha512()).isEqualTo(TestRepository.sha512(dir.resolve("alpha.img.xz")));
            assertThat(alpha.compressedSize()).isEqualTo(Files.size(dir.resolve("alpha.img.xz")));
            IndexEntry beta = index.find("beta").orElseThrow();
            assertThat(beta.formatOrRaw()).isEqualTo("qcow2");
            assertThat(beta.size()).isEqualTo(1L << 30);
            // seekable xz: 40 MiB in 16 MiB blocks is 3 blocks
            assertThat(TestRepository.run("xz", "--list", "--robot", dir.resolve("alpha.img.xz").toString()))
                    .containsPattern("(?m)^file\t1\t3\t");

            // a maintainer adds notes and changes alpha; publishing again keeps the notes and bumps alpha only
            Files.writeString(dir.resolve("index"), Files.readString(dir.resolve("index"))
                    .replace("[alpha]\nname=alpha\n", "[alpha]\nname=Alpha OS\nnotes=first\n second\n"));
            Files.delete(dir.resolve("alpha.img"));
            TestRepository.ext4(dir.resolve("alpha.img"), 16, Map.of("etc/hostname", "alpha2\n"));
            TemplateIndex again = new RepositoryPublisher(new QemuImg()).publish(dir, key.home(), key.fingerprint, null);
            assertThat(again.find("alpha").orElseThrow().name()).isEqualTo("Alpha OS");
            assertThat(again.find("alpha").orElseThrow().notes()).isEqualTo("first\nsecond");
            assertThat(again.find("alpha").orElseThrow().revision()).isEqualTo("2");
            assertThat(again.find("beta").orElseThrow().revision()).isEqualTo("1");

            // and jvirt builds from what was published
            ImageSource src = new ImageSource("published", dir.resolve("index.asc").toUri(), key.publicKey, key.fingerprint);
            ImageBuilder b = new ImageBuilder(new ImageCatalog(List.of(src), new GpgVerifier()),
                    new TemplateCache(tmp.resolve("cache")), new QemuImg(), tmp.resolve("out"));
            ImageBuilder.Result r = b.build(new ImageBuilder.Request("alpha", null, "a.raw", null, "raw", null), m -> { },
                    () -> false);
            assertThat(Ext4Customizer.read(Path.of(r.path()), "/etc/hostname")).isEqualTo("alpha2\n");
            if (VirtBuilderCompatTest.onPath("virt-index-validate")) {
                assertThat(TestRepository.run("virt-index-validate", dir.resolve("index.asc").toString())).contains("OK");
            }
        }
    }
}
