package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.qmp.QmpJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link QemuCapabilities} per QEMU build: in memory, and (when given a directory) on disk, so a build's schema is
 * read once per host, not once per VM or per daemon start. A build is its binary's path plus the version string
 * its greeting announces (with the distribution's package string, which changes with every package update), so
 * an upgraded binary is probed again and an adopted QEMU that still runs the old binary is not mistaken for the
 * new one. Probing happens only when someone asks, off the start path.
 */
public final class CapabilityCache {
    private static final Logger log = LoggerFactory.getLogger(CapabilityCache.class);
    private static final ObjectMapper JSON = QmpJson.mapper();
    private final Path dir;
    private final Map<String, CompletableFuture<QemuCapabilities>> builds = new ConcurrentHashMap<>();

    /** @param dir where to keep what was learnt, or null to keep it in memory only */
    public CapabilityCache(Path dir) {
        this.dir = dir;
    }

    /** A cache that forgets everything when the daemon stops (tests, tools). */
    public static CapabilityCache inMemory() {
        return new CapabilityCache(null);
    }

    /**
     * The build's capabilities: remembered, read from disk, or distilled from {@code schema} (which runs
     * {@code query-qmp-schema} on the caller's monitor) and remembered. Concurrent askers of one build wait for the
     * same probe; a failed probe is not remembered.
     */
    QemuCapabilities get(String binary, String version, Supplier<JsonNode> schema) {
        String key = binary + " " + version;
        CompletableFuture<QemuCapabilities> mine = new CompletableFuture<>();
        CompletableFuture<QemuCapabilities> known = builds.putIfAbsent(key, mine);
        if (known != null) {
            try {
                return known.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e; // the other asker's probe failed
            }
        }
        try {
            QemuCapabilities c = read(key);
            if (c == null) {
                long t0 = System.nanoTime();
                c = QemuCapabilities.fromSchema(version, schema.get());
                log.info("QEMU {} ({}): {} commands, {} events, probed in {} ms", version, binary, c.commands().size(),
                        c.events().size(), (System.nanoTime() - t0) / 1_000_000);
                write(key, c);
            }
            mine.complete(c);
            return c;
        } catch (RuntimeException e) {
            builds.remove(key, mine);
            mine.completeExceptionally(e);
            throw e;
        }
    }

    private record Stored(String key, QemuCapabilities capabilities) {
    }

    private QemuCapabilities read(String key) {
        Path file = fileFor(key);
        if (file == null || !Files.isRegularFile(file)) {
            return null;
        }
        try {
            Stored s = JSON.readValue(file.toFile(), Stored.class);
            return key.equals(s.key()) ? s.capabilities() : null;
        } catch (IOException | RuntimeException e) {
            log.debug("ignoring unreadable capability cache {}: {}", file, e.toString());
            return null;
        }
    }

    private void write(String key, QemuCapabilities c) {
        Path file = fileFor(key);
        if (file == null) {
            return;
        }
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            JSON.writeValue(tmp.toFile(), new Stored(key, c));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            log.warn("cannot cache the capabilities of QEMU {} in {}: {}", c.version(), dir, e.toString());
        }
    }

    private Path fileFor(String key) {
        if (dir == null) {
            return null;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return dir.resolve(HexFormat.of().formatHex(digest, 0, 12) + ".json");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
