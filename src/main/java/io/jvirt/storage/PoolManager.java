package io.jvirt.storage;

import io.jvirt.vm.ErrorCode;
import io.jvirt.vm.JvirtException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The pools of this daemon. Pool {@code default} lives at {@code <state-dir>/pools/default} and is made on first start. */
public final class PoolManager {
    public static final String DEFAULT_POOL = "default";

    private final Map<String, Pool> pools = new ConcurrentHashMap<>();

    public PoolManager(Path stateDir) {
        Path dir = stateDir.resolve("pools").resolve(DEFAULT_POOL).toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the default pool at " + dir, e);
        }
        pools.put(DEFAULT_POOL, new Pool(DEFAULT_POOL, dir));
    }

    public List<Pool> list() {
        return pools.values().stream().sorted(java.util.Comparator.comparing(Pool::name)).toList();
    }

    public Pool get(String name) {
        StorageNames.checkPoolName(name);
        Pool p = pools.get(name);
        if (p == null) {
            throw new JvirtException(ErrorCode.POOL_NOT_FOUND, "no pool named '" + name + "'", Map.of("pool", name));
        }
        return p;
    }
}
