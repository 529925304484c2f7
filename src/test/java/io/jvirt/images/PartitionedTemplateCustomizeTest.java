package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jvirt.storage.QemuImg;
import io.jvirt.testing.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A virt-builder-style partitioned template (MBR, one ext4 partition holding the Debian 12 template's OS) is
 * customized through virt-customize, since debugfs only edits bare filesystems. Skipped unless the Debian
 * repository of scripts/build-templates.sh and libguestfs-tools are present (the appliance boot takes ~30 s).
 */
class PartitionedTemplateCustomizeTest {
    @Test
    void partitionedTemplateIsCustomizedWithVirtCustomize(@TempDir Path tmp) throws Exception {
        Path debian = DebianTemplateBootTest.repoDir().resolve("debian-12.img.xz");
        assumeTrue(Files.isRegularFile(debian), "no Debian template in " + debian.getParent());
        VirtCustomizer vc = VirtCustomizer.find("tcg".equals(TestGuest.accel()));
        assumeTrue(vc != null && VirtBuilderCompatTest.onPath("sfdisk"), "virt-customize or sfdisk not installed");

        Path repo = Files.createDirectories(tmp.resolve("repo"));
        Path fs = tmp.resolve("fs.img");
        ToolRunner.run(List.of("xz", "--decompress", "--stdout", debian.toString()), fs, null, java.time.Duration.ofMinutes(10));
        long fsSize = Files.size(fs);
        // the fstab scripts/build-templates.sh writes now (by label); older builds said /dev/vda, which inside a
        // partition names the whole disk and keeps libguestfs from mounting the root
        Ext4Customizer.apply(fs, new Customization(null, List.of(new Customization.FileWrite("/etc/fstab",
                "LABEL=root / ext4 defaults 0 1\n"))), tmp);
        Path disk = tmp.resolve("disk.img");
        TestRepository.run("truncate", "-s", Long.toString(fsSize + (2L << 20)), disk.toString());
        Path layout = Files.writeString(tmp.resolve("layout"), "label: dos\nstart=2048, type=83\n");
        ToolRunner.Result sf = ToolRunner.run(List.of("sh", "-c", "sfdisk -q \"$1\" < \"$2\"", "sh", disk.toString(),
                layout.toString()), null, null, java.time.Duration.ofMinutes(1));
        assertThat(sf.exit()).as(sf.stderr()).isZero();
        TestRepository.run("dd", "if=" + fs, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none");
        Files.delete(fs);
        TestRepository.run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", disk.toString(),
                repo.resolve("debian-part.qcow2").toString());
        Files.delete(disk);
        String index = IndexWriter.write(new TemplateIndex(List.of(new IndexEntry("debian-part", "Debian 12, partitioned",
                "debian12", "x86_64", "debian-part.qcow2", "1", TestRepository.sha512(repo.resolve("debian-part.qcow2")),
                "qcow2", fsSize + (2L << 20), null, "/dev/sda1", null, false, null, null))));
        Files.writeString(repo.resolve("index"), index);
        try (TestSigningKey key = TestSigningKey.create("jvirt-part")) {
            Files.write(repo.resolve("index.sig"), key.detachSign(index));
            ImageSource src = new ImageSource("part", repo.resolve("index").toUri(), key.publicKey, null);
            ImageBuilder b = new ImageBuilder(new ImageCatalog(List.of(src), new GpgVerifier()),
                    new TemplateCache(tmp.resolve("cache")), new QemuImg(), tmp.resolve("out"), vc);
            List<Map<String, Object>> steps = new ArrayList<>();
            ImageBuilder.Result r = b.build(new ImageBuilder.Request("debian-part", null, "vm.qcow2", null, "qcow2",
                    new Customization("vc-part", List.of(new Customization.FileWrite("/etc/motd", "via virt-customize\n")))),
                    steps::add, () -> false);
            assertThat(steps).anySatisfy(m -> assertThat(m).containsEntry("phase", "customize")
                    .containsEntry("with", "virt-customize"));
            Path raw = tmp.resolve("check.raw");
            TestRepository.run("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", r.path(), raw.toString());
            String partition = raw + "?offset=1048576";
            assertThat(Ext4Customizer.read(Path.of(partition), "/etc/hostname")).isEqualTo("vc-part\n");
            assertThat(Ext4Customizer.read(Path.of(partition), "/etc/motd")).isEqualTo("via virt-customize\n");
        }
    }
}
