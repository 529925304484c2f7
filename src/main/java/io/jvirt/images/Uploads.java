package io.jvirt.images;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Files a client sends for {@code --upload SRC:DST}, staged on disk until a build uses them. The daemon never opens
 * a path a client names, and an upload is streamed to disk, never held in memory (jvirtd runs with a small heap),
 * so a file of any bytes arrives exactly. Each upload is used by one build, then deleted; unused ones expire.
 */
public final class Uploads {
    public static final long MAX_BYTES = 64L << 20;
    static final long MAX_PENDING_BYTES = 256L << 20;
    static final Duration EXPIRY = Duration.ofHours(1);
    private static final String ID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

    /** A staged upload: its id, the file holding its bytes, their count. */
    public record Staged(String id, Path file, long bytes, Instant received) {
    }

    private final Path dir;
    private final Map<String, Staged> pending = new ConcurrentHashMap<>();

    Uploads(Path dir) {
        this.dir = dir;
    }

    /** Deletes every staged file: at daemon start nothing can refer to them any more. */
    int removeAll() {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                if (Files.isRegularFile(p) && Files.deleteIfExists(p)) {
                    n++;
                }
            }
        } catch (IOException e) {
            throw ImageException.tool("cleaning " + dir + ": " + e.getMessage());
        }
        return n;
    }

    /**
     * Streams {@code in} to a new staged file. {@code declaredLength} (-1 if unknown) lets an oversized upload be
     * refused before a byte is read; without it, reading stops one byte past the limit.
     */
    public Staged receive(InputStream in, long declaredLength) {
        expire();
        if (declaredLength > MAX_BYTES) {
            throw tooLarge(declaredLength);
        }
        long pendingBytes = pending.values().stream().mapToLong(Staged::bytes).sum();
        if (pendingBytes + Math.max(0, declaredLength) > MAX_PENDING_BYTES) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "uploads waiting for a build already hold "
                    + pendingBytes + " bytes (limit " + MAX_PENDING_BYTES + "); build with them first or wait "
                    + EXPIRY.toMinutes() + " minutes for them to expire");
        }
        String id = UUID.randomUUID().toString();
        Path file = dir.resolve(id + ".upload");
        long total = 0;
        try {
            if (!Files.isDirectory(dir)) {
                io.jvirt.files.FileModes.createDirectories(dir, io.jvirt.files.FileModes.PRIVATE_DIR);
            }
            // 0600 from its creation: an upload may be a disk image with secrets in it
            try (OutputStream out = java.nio.channels.Channels.newOutputStream(io.jvirt.files.FileModes.open(file,
                    io.jvirt.files.FileModes.PRIVATE_FILE,
                    java.nio.file.StandardOpenOption.WRITE))) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    total += n;
                    if (total > MAX_BYTES) {
                        throw tooLarge(total);
                    }
                    out.write(buf, 0, n);
                }
            }
        } catch (IOException | RuntimeException e) {
            deleteQuietly(file);
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw ImageException.tool("receiving an upload: " + e.getMessage());
        }
        Staged s = new Staged(id, file, total, Instant.now());
        pending.put(id, s);
        return s;
    }

    /** Takes an upload for one build: nobody else can use it; the caller {@link #release}s it when done. */
    public Staged claim(String id) {
        Staged s = id != null && id.matches(ID_PATTERN) ? pending.remove(id) : null;
        if (s == null) {
            throw ImageException.invalid("no upload '" + id + "' (unknown, expired after " + EXPIRY.toMinutes()
                    + " minutes, or already used by a build)");
        }
        return s;
    }

    public void release(Staged s) {
        deleteQuietly(s.file());
    }

    private void expire() {
        Instant horizon = Instant.now().minus(EXPIRY);
        for (Staged s : pending.values()) {
            if (s.received().isBefore(horizon) && pending.remove(s.id(), s)) {
                release(s);
            }
        }
    }

    private static JvirtException tooLarge(long bytes) {
        return ImageException.invalid("an upload may hold at most " + MAX_BYTES + " bytes (64 MiB); got "
                + (bytes > MAX_BYTES + 1 ? bytes + " bytes" : "more"));
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort; removeAll at the next start
        }
    }
}
