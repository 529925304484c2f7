package io.jvirt.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.store.AtomicFiles;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pools of this daemon. Pool {@code default} lives at {@code <state-dir>/pools/default} and is made on first
 * start. Defined pools are kept one file each in {@code <state-dir>/pool-definitions/<name>.json}, written
 * atomically (write, fsync, rename) like the store's documents; not in the DocumentStore itself because its owner
 * names are the VM names, and a pool must not vanish with a VM that happens to share its name.
 */
public final class PoolManager {
    public static final String DEFAULT_POOL = "default";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a pool definition holds, on disk and in {@code POST /v1/pools}. */
    public record Definition(String name, String path) {
    }

    private final Map<String, Pool> pools = new ConcurrentHashMap<>();
    private final Path definitions;
    private volatile java.util.function.BiConsumer<String, Path> rootCheck = (name, dir) -> { };

    public PoolManager(Path stateDir) {
        Path dir = stateDir.resolve("pools").resolve(DEFAULT_POOL).toAbsolutePath().normalize();
        definitions = stateDir.resolve("pool-definitions").toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
            Files.createDirectories(definitions);
            pools.put(DEFAULT_POOL, new Pool(DEFAULT_POOL, dir.toRealPath()));
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(definitions, "*.json")) {
                for (Path f : ds) {
                    Definition d;
                    try {
                        d = JSON.readValue(f.toFile(), Definition.class);
                    } catch (IOException | RuntimeException bad) {
                        quarantine(stateDir, f, bad); // the other pools load
                        continue;
                    }
                    pools.put(d.name(), new Pool(d.name(), Path.of(d.path())));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the storage pools under " + stateDir, e);
        }
    }

    /** A pool definition that cannot be read goes to {@code <state-dir>/quarantine/pools/}, as the store's documents do. */
    private static void quarantine(Path stateDir, Path file, Exception why) throws IOException {
        Path target = stateDir.resolve("quarantine").resolve("pools").resolve(file.getFileName().toString()
                .replaceFirst("\\.json$", "") + "-" + java.time.Instant.now().toString().replace(':', '-') + ".json");
        AtomicFiles.write(target.resolveSibling(target.getFileName().toString().replaceFirst("\\.json$", ".reason")),
                (String.valueOf(why.getMessage()).replaceAll("\\s+", " ") + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        AtomicFiles.moveDurably(file, target);
        org.slf4j.LoggerFactory.getLogger(PoolManager.class).error("pool definition {} quarantined to {}: {}", file,
                target, why.getMessage());
    }

    /** Refuses a pool directory QEMU must never be given (the daemon's path policy: system directories...). */
    public void setRootCheck(java.util.function.BiConsumer<String, Path> check) {
        this.rootCheck = check;
    }

    public List<Pool> list() {
        return pools.values().stream().sorted(Comparator.comparing(Pool::name)).toList();
    }

    public Pool get(String name) {
        StorageNames.checkPoolName(name);
        Pool p = pools.get(name);
        if (p == null) {
            throw new JvirtException(ErrorCode.POOL_NOT_FOUND, "no pool named '" + name + "'", Map.of("pool", name));
        }
        return p;
    }

    /** Adds an existing directory as a pool; it may not contain, or lie inside, another pool. */
    public synchronized Pool define(Definition d) {
        if (d == null || d.name() == null || d.path() == null) {
            throw invalid("a pool definition needs name and path");
        }
        try {
            io.jvirt.vm.DefinitionValidator.checkName(d.name());
        } catch (JvirtException e) {
            throw invalid("invalid pool name: pool names follow the VM name rules (1-63 letters, digits, '.', '_' or"
                    + " '-', starting with a letter or digit)");
        }
        if (pools.containsKey(d.name())) {
            throw new JvirtException(ErrorCode.POOL_EXISTS, "pool '" + d.name() + "' already exists",
                    Map.of("pool", d.name()));
        }
        Path given = Path.of(d.path());
        if (!given.isAbsolute()) {
            throw invalid("a pool path must be absolute, got '" + d.path() + "'");
        }
        Path real;
        try {
            real = given.toRealPath();
        } catch (IOException e) {
            throw invalid("pool path " + d.path() + " does not exist");
        }
        if (!Files.isDirectory(real)) {
            throw invalid("pool path " + d.path() + " is not a directory");
        }
        if (real.getParent() == null) {
            throw invalid("the root directory cannot be a pool");
        }
        rootCheck.accept(d.name(), real);
        for (Pool p : pools.values()) {
            if (real.startsWith(p.path()) || p.path().startsWith(real)) {
                throw invalid("pool path " + real + " overlaps pool '" + p.name() + "' at " + p.path());
            }
        }
        Pool pool = new Pool(d.name(), real);
        try {
            AtomicFiles.write(definitions.resolve(d.name() + ".json"),
                    JSON.writeValueAsBytes(new Definition(d.name(), real.toString())));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record pool " + d.name(), e);
        }
        pools.put(d.name(), pool);
        return pool;
    }

    /** Forgets a pool; its directory and images stay where they are. */
    public synchronized void undefine(String name) {
        Pool p = get(name);
        if (p.name().equals(DEFAULT_POOL)) {
            throw invalid("the default pool cannot be undefined");
        }
        try {
            AtomicFiles.delete(definitions.resolve(name + ".json"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the record of pool " + name, e);
        }
        pools.remove(name);
    }

    private static JvirtException invalid(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
