package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.storage.QemuImg;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder on its own with a file:// source signed by a detached index.sig, and crash leftovers. */
class ImageBuilderTest {
    @Test
    void buildsFromAFileSourceWithADetachedSignature(@TempDir Path tmp) throws Exception {
        Path repo = Files.createDirectories(tmp.resolve("repo"));
        TestRepository.xz(TestRepository.ext4(repo.resolve("fs.img"), 16, Map.of("etc/hostname", "t\n")));
        Files.delete(repo.resolve("fs.img"));
        String index = IndexWriter.write(new TemplateIndex(List.of(
                TestRepository.entry(repo, "fs", "fs.img.xz", "raw", 16L << 20, null, false, null))));
        Files.writeString(repo.resolve("index"), index);
        try (TestSigningKey key = TestSigningKey.create("jvirt-file")) {
            Files.write(repo.resolve("index.sig"), key.detachSign(index));
            ImageSource src = new ImageSource("local", repo.resolve("index").toUri(), key.publicKey, key.fingerprint);
            ImageBuilder b = new ImageBuilder(new ImageCatalog(List.of(src), new GpgVerifier()),
                    new TemplateCache(tmp.resolve("cache")), new QemuImg(), tmp.resolve("out"));
            List<Map<String, Object>> steps = new ArrayList<>();
            ImageBuilder.Result r = b.build(new ImageBuilder.Request("fs", null, "v.qcow2", 32L << 20, "qcow2",
                    new Customization("from-file", null)), steps::add, () -> false);
            assertThat(r.virtualSize()).isEqualTo(32L << 20);
            // each phase starts and ends (done == total) in this order; a 32 MiB disk grown from the template's
            List<Object> ended = steps.stream().filter(m -> m.containsKey("total") && m.get("total").equals(m.get("done")))
                    .map(m -> m.get("phase")).toList();
            assertThat(ended).containsExactly("download", "verify", "decompress", "convert", "resize", "customize",
                    "convert");
            assertThat(steps.get(0)).containsEntry("phase", "resolve");
            assertThat(steps).filteredOn(m -> "resize".equals(m.get("phase")) && m.get("done").equals(m.get("total")))
                    .singleElement().satisfies(m -> assertThat(m).containsEntry("total", 32L << 20).containsEntry("percent", 100.0));

            // a tampered index (signature no longer matches) is refused before anything is fetched
            Files.writeString(repo.resolve("index"), index.replace("fs.img.xz", "other.xz"));
            assertThatThrownBy(() -> b.build(new ImageBuilder.Request("fs", null, "w.qcow2", null, "qcow2", null),
                    m -> { }, () -> false)).hasMessageContaining("changed after signing");
            // and an index without a signature at all
            Files.delete(repo.resolve("index.sig"));
            assertThatThrownBy(() -> b.build(new ImageBuilder.Request("fs", null, "w.qcow2", null, "qcow2", null),
                    m -> { }, () -> false)).hasMessageContaining("unsigned indexes are refused");
            assertThat(tmp.resolve("out").resolve("w.qcow2")).doesNotExist();
        }
    }

    @Test
    void removesOnlyTheLeftoversOfInterruptedBuilds(@TempDir Path tmp) throws Exception {
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        List<Path> leftovers = List.of(out.resolve(".vm1.qcow2.0a1b2c3d.part"), out.resolve(".vm1.qcow2.0a1b2c3d.raw.part"),
                out.resolve(".write-123.tmp"), out.resolve(".debugfs-9.cmd"), cache.resolve(".download-deadbeef.part"),
                cache.resolve(".unpack-deadbeef.part"));
        List<Path> kept = List.of(out.resolve("vm1.qcow2"), out.resolve(".hidden-user-file"), out.resolve("x.part"),
                cache.resolve("a".repeat(128) + ".img"));
        for (Path p : leftovers) {
            Files.writeString(p, "x");
        }
        for (Path p : kept) {
            Files.writeString(p, "x");
        }
        ImageBuilder b = new ImageBuilder(new ImageCatalog(List.of(), new GpgVerifier()), new TemplateCache(cache),
                new QemuImg(), out);
        assertThat(b.removeLeftovers()).isEqualTo(leftovers.size());
        assertThat(leftovers).noneMatch(Files::exists);
        assertThat(kept).allMatch(Files::exists);
    }
}
