package io.jvirt.images;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Downloaded templates, decompressed, named by the sha512 the signed index gives for their file. A template is
 * fetched once: download to a part file while hashing, compare with the index, decompress, rename into place.
 * Any failure deletes the part files, so the cache only ever holds verified templates.
 */
public final class TemplateCache {
    private static final Duration XZ_TIMEOUT = Duration.ofMinutes(60);
    private final Path dir;
    private final Transport transport;
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    public TemplateCache(Path dir) {
        this(dir, new Transport());
    }

    TemplateCache(Path dir, Transport transport) {
        this.dir = dir;
        this.transport = transport;
    }

    public Path dir() {
        return dir;
    }

    /** Path a template with this checksum has in the cache (it may not exist yet). */
    public Path pathFor(String sha512) {
        return dir.resolve(sha512 + ".img");
    }

    /**
     * The decompressed template, fetched if not cached. {@code progress} gets the phases download (bytes of the
     * file), verify (its sha512, computed while downloading, compared with the signed index) and decompress (bytes
     * of the compressed file fed to xz), or cached.
     */
    Path fetch(ImageCatalog.Resolved t, PhaseProgress progress) {
        IndexEntry e = t.entry();
        String sum = e.checksumSha512();
        if (sum == null) {
            throw ImageException.badIndex(t.source().name(), "[" + e.id() + "] has no checksum[sha512]; jvirt does not "
                    + "use templates it cannot verify");
        }
        Path cached = pathFor(sum);
        ReentrantLock lock = locks.computeIfAbsent(sum, k -> new ReentrantLock());
        lock.lock();
        try {
            if (Files.isRegularFile(cached)) {
                progress.instant("cached", java.util.Map.of("bytes", Files.size(cached)));
                return cached;
            }
            Files.createDirectories(dir);
            String tag = UUID.randomUUID().toString().substring(0, 8);
            Path download = dir.resolve(".download-" + tag + ".part");
            Path unpacked = dir.resolve(".unpack-" + tag + ".part");
            try {
                // the index's compressed_size is signed; the server's length is only a hint for the bar
                long announced = e.compressedSize() != null ? e.compressedSize() : e.isXz() || e.size() == null ? -1 : e.size();
                progress.start("download", announced, java.util.Map.of());
                String actual = transport.download(t.source().name(), t.fileUri(), download,
                        (done, total) -> progress.update(done, announced >= 0 ? announced : total));
                long downloaded = Files.size(download);
                progress.finish(downloaded);
                progress.start("verify", downloaded, java.util.Map.of("algorithm", "sha512"));
                if (!actual.equalsIgnoreCase(sum)) {
                    throw ImageException.checksum(e.id(), sum, actual);
                }
                progress.finish(downloaded);
                if (e.isXz()) {
                    progress.start("decompress", downloaded, java.util.Map.of());
                    ToolRunner.Result r = unxz(download, unpacked, n -> progress.update(n, downloaded));
                    if (!r.ok()) {
                        throw ImageException.badIndex(t.source().name(), "[" + e.id() + "] " + e.file()
                                + " does not decompress (truncated or not xz): " + r.stderr().strip());
                    }
                    progress.finish(downloaded);
                    Files.delete(download);
                } else {
                    Files.move(download, unpacked);
                }
                try {
                    Files.move(unpacked, cached, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException x) {
                    Files.move(unpacked, cached);
                }
                return cached;
            } finally {
                Files.deleteIfExists(download);
                Files.deleteIfExists(unpacked);
            }
        } catch (IOException x) {
            throw ImageException.tool("template cache " + dir + ": " + x.getMessage());
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code xz --decompress --stdout} with the compressed file fed through a pipe by us rather than named on the
     * command line, so the bytes fed are the progress. A corrupt file makes xz exit early; the broken pipe that
     * causes here is expected, and xz's exit status and stderr are the error.
     */
    private static ToolRunner.Result unxz(Path compressed, Path out, java.util.function.LongConsumer fed) throws IOException {
        List<String> cmd = List.of("xz", "--decompress", "--stdout");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).start();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        Thread errReader = Thread.ofVirtual().start(() -> {
            try (var in = p.getErrorStream()) {
                in.transferTo(err);
            } catch (IOException ignored) {
                // xz ended
            }
        });
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (var in = Files.newInputStream(compressed); var to = p.getOutputStream()) {
                byte[] buf = new byte[1 << 20];
                long total = 0;
                int n;
                while ((n = in.read(buf)) > 0) {
                    to.write(buf, 0, n);
                    total += n;
                    fed.accept(total);
                }
            } catch (IOException ignored) {
                // xz stopped reading (corrupt input): its exit status tells
            }
        });
        try {
            if (!p.waitFor(XZ_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw ImageException.tool("xz timed out after " + XZ_TIMEOUT.toSeconds() + " s");
            }
            feeder.join();
            errReader.join();
        } catch (InterruptedException ex) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw ImageException.tool("xz was interrupted");
        }
        return new ToolRunner.Result(cmd, p.exitValue(), "", err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }
}
