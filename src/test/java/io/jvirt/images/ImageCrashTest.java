package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jvirtd is killed (-9) in the middle of a template download; after a restart the part file is gone, no volume
 * exists, and the same build then succeeds. The HTTP server sends half the file and holds the rest until told,
 * so the kill happens mid-download by construction, not by timing.
 */
class ImageCrashTest {
    @Test
    void aBuildInterruptedByADaemonCrashLeavesNothingAfterRestart(@TempDir Path tmp) throws Exception {
        Path repo = Files.createDirectories(tmp.resolve("repo"));
        Path img = TestRepository.ext4(repo.resolve("t.img"), 16, Map.of("etc/hostname", "t\n"));
        // incompressible payload would be slow to make; a raw (uncompressed) template is big enough to split
        String index = IndexWriter.write(new TemplateIndex(List.of(
                TestRepository.entry(repo, "t", "t.img", "raw", 16L << 20, null, false, null))));
        byte[] template = Files.readAllBytes(img);
        CountDownLatch halfSent = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (TestSigningKey key = TestSigningKey.create("jvirt-crash")) {
            byte[] asc = key.clearsign(index);
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/index.asc", ex -> {
                try (ex) {
                    ex.sendResponseHeaders(200, asc.length);
                    ex.getResponseBody().write(asc);
                }
            });
            server.createContext("/t.img", ex -> {
                try (ex) {
                    ex.sendResponseHeaders(200, template.length);
                    OutputStream out = ex.getResponseBody();
                    int half = template.length / 2;
                    if (release.getCount() > 0) {
                        out.write(template, 0, half);
                        out.flush();
                        halfSent.countDown();
                        release.await(2, TimeUnit.MINUTES);
                        return; // the connection closes short: the first daemon is dead by now anyway
                    }
                    out.write(template);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            server.start();
            String url = "http://127.0.0.1:" + server.getAddress().getPort();
            try (DaemonProcess daemon = DaemonProcess.startNew("--image-source", "crash=" + url + "/index.asc,"
                    + key.publicKey)) {
                TestHttp http = daemon.http();
                TestHttp.Response started = http.post("/v1/images/t/build", Map.of("volume", "v.qcow2", "size", "32M"));
                assertThat(started.status()).as(started.toString()).isEqualTo(202);
                assertThat(halfSent.await(2, TimeUnit.MINUTES)).isTrue();
                Path cache = daemon.stateDir().resolve("image-cache");
                // the daemon has received data: wait for its part file to hold some of it (a file, not a QMP query)
                awaitPartFile(cache);
                daemon.kill9();
                release.countDown();

                daemon.restart();
                assertThat(names(cache)).noneMatch(n -> n.endsWith(".part"));
                assertThat(names(daemon.stateDir().resolve("pools/default"))).isEmpty();
                assertThat(daemon.log()).content().contains("removed 1 part file(s)");

                TestHttp.Response again = http.post("/v1/images/t/build?wait=true", Map.of("volume", "v.qcow2",
                        "size", "32M"));
                assertThat(again.status()).as(again.toString()).isEqualTo(200);
                assertThat(names(daemon.stateDir().resolve("pools/default"))).containsExactly("v.qcow2");
            } finally {
                release.countDown();
                server.stop(0);
            }
        }
    }

    private static void awaitPartFile(Path dir) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            try (Stream<Path> s = Files.exists(dir) ? Files.list(dir) : Stream.empty()) {
                if (s.anyMatch(p -> p.getFileName().toString().endsWith(".part") && sizeOf(p) > 0)) {
                    return;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no part file in " + dir);
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private static List<String> names(Path dir) throws java.io.IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
