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
import java.util.function.BiConsumer;

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
     * The decompressed template, fetched if not cached. {@code progress} gets (step, bytes so far).
     */
    public Path fetch(ImageCatalog.Resolved t, BiConsumer<String, Long> progress) {
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
                progress.accept("cached", 0L);
                return cached;
            }
            Files.createDirectories(dir);
            String tag = UUID.randomUUID().toString().substring(0, 8);
            Path download = dir.resolve(".download-" + tag + ".part");
            Path unpacked = dir.resolve(".unpack-" + tag + ".part");
            try {
                String actual = transport.download(t.source().name(), t.fileUri(), download,
                        n -> progress.accept("download", n));
                if (!actual.equalsIgnoreCase(sum)) {
                    throw ImageException.checksum(e.id(), sum, actual);
                }
                progress.accept("verified", 0L);
                if (e.isXz()) {
                    progress.accept("decompress", 0L);
                    ToolRunner.Result r = ToolRunner.run(List.of("xz", "--decompress", "--stdout", "--", download.toString()),
                            unpacked, null, XZ_TIMEOUT);
                    if (!r.ok()) {
                        throw ImageException.badIndex(t.source().name(), "[" + e.id() + "] " + e.file()
                                + " does not decompress (truncated or not xz): " + r.stderr().strip());
                    }
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
}
