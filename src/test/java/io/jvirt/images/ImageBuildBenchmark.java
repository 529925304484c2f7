package io.jvirt.images;

import io.jvirt.storage.QemuImg;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Not a test (surefire does not run it): time to build a VM disk from a cached 1 GiB template (convert + resize +
 * customize) against a bare {@code qemu-img convert} of the same template. Run:
 * {@code java -cp target/classes:target/test-classes:$(deps) io.jvirt.images.ImageBuildBenchmark [DATA_MIB] [ROUNDS]}
 */
public final class ImageBuildBenchmark {
    public static void main(String[] args) throws Exception {
        int dataMiB = args.length > 0 ? Integer.parseInt(args[0]) : 400;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path tmp = Files.createTempDirectory("jvirt-bench-");
        try {
            // a 1 GiB ext4 template holding dataMiB of incompressible files (a real template is mostly data)
            Path tree = Files.createDirectories(tmp.resolve("tree/usr/share/bench"));
            Files.createDirectories(tmp.resolve("tree/etc"));
            Files.writeString(tmp.resolve("tree/etc/hostname"), "template\n");
            byte[] chunk = new byte[1 << 20];
            java.util.Random rnd = new java.util.Random(42);
            for (int i = 0; i < dataMiB; i++) {
                rnd.nextBytes(chunk);
                Files.write(tree.resolve("f" + (i / 16) + ".bin"), chunk, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            }
            Path template = tmp.resolve("template.img");
            TestRepository.run("mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", tmp.resolve("tree").toString(),
                    template.toString(), "1G");
            TestRepository.run("rm", "-rf", tmp.resolve("tree").toString());

            // put it in a builder's cache as if it had been downloaded and verified
            String sum = TestRepository.sha512(template);
            Path cacheDir = Files.createDirectories(tmp.resolve("cache"));
            Files.move(template, cacheDir.resolve(sum + ".img"));
            IndexEntry e = new IndexEntry("bench", null, null, null, "bench.img", null, sum, "raw", 1L << 30, null, null,
                    null, false, null, null);
            Path repo = Files.createDirectories(tmp.resolve("repo"));
            Files.writeString(repo.resolve("index"), IndexWriter.write(new TemplateIndex(List.of(e))));
            try (TestSigningKey key = TestSigningKey.create("jvirt-bench")) {
                Files.write(repo.resolve("index.sig"), key.detachSign(Files.readString(repo.resolve("index"))));
                ImageSource src = new ImageSource("bench", repo.resolve("index").toUri(), key.publicKey, null);
                Path out = Files.createDirectories(tmp.resolve("out"));
                ImageBuilder b = new ImageBuilder(new ImageCatalog(List.of(src), new GpgVerifier()),
                        new TemplateCache(cacheDir), new QemuImg(), out);
                QemuImg qemuImg = new QemuImg();
                Path cached = cacheDir.resolve(sum + ".img");
                List<Long> bare = new ArrayList<>();
                List<Long> plain = new ArrayList<>();
                List<Long> full = new ArrayList<>();
                for (int r = 0; r < rounds; r++) {
                    long t0 = System.nanoTime();
                    qemuImg.convert(cached, "raw", out.resolve("bare" + r + ".qcow2"), "qcow2");
                    bare.add((System.nanoTime() - t0) / 1_000_000);
                    t0 = System.nanoTime();
                    b.build(new ImageBuilder.Request("bench", null, "plain" + r + ".qcow2", null, "qcow2", null), m -> { },
                            () -> false);
                    plain.add((System.nanoTime() - t0) / 1_000_000);
                    t0 = System.nanoTime();
                    b.build(new ImageBuilder.Request("bench", null, "full" + r + ".qcow2", 2L << 30, "qcow2",
                            new Customization("bench-host", List.of(new Customization.FileWrite("/etc/motd", "hi\n")))),
                            m -> { }, () -> false);
                    full.add((System.nanoTime() - t0) / 1_000_000);
                    for (String n : List.of("bare", "plain", "full")) {
                        Files.delete(out.resolve(n + r + ".qcow2"));
                    }
                }
                System.out.printf("template: 1 GiB ext4 raw, %d MiB of data, cached; %d rounds (ms, median)%n", dataMiB, rounds);
                System.out.printf("qemu-img convert alone (raw->qcow2):                    %s median %d%n", bare, median(bare));
                System.out.printf("build, no resize/customize (verify index + convert):    %s median %d%n", plain, median(plain));
                System.out.printf("build to 2 GiB + hostname + write (convert, resize, resize2fs, debugfs, convert): %s median %d%n",
                        full, median(full));
            }
        } finally {
            TestRepository.run("rm", "-rf", tmp.toString());
        }
    }

    private static long median(List<Long> xs) {
        long[] a = xs.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a[a.length / 2];
    }

    private ImageBuildBenchmark() {
    }

}
