package io.jvirt.api;

import io.jvirt.storage.Pool;
import io.jvirt.storage.PoolManager;
import io.jvirt.storage.Sizes;
import io.jvirt.storage.VolumeService;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;

/** /v1/pools: the storage pools and their volumes. */
record StorageRoutes(PoolManager pools, VolumeService volumes) {

    /** Body of POST .../resize. */
    record ResizeRequest(String size, Long sizeBytes) {
    }

    /** Body of POST .../clone. */
    record CloneRequest(String name, String format) {
    }

    void register(Router r) {
        r.add("GET", "/v1/pools", ex -> ex.json(200, pools.list().stream().map(StorageRoutes::describe).toList()));
        r.add("GET", "/v1/pools/{pool}", ex -> ex.json(200, describe(pools.get(ex.param("pool")))));
        r.add("POST", "/v1/pools", ex -> ex.json(201, describe(pools.define(
                ex.bodyAs(PoolManager.Definition.class, ErrorCode.INVALID_ARGUMENT)))));
        r.add("DELETE", "/v1/pools/{pool}", ex -> {
            pools.undefine(ex.param("pool"));
            ex.json(200, Map.of("undefined", ex.param("pool")));
        });
        r.add("GET", "/v1/pools/{pool}/volumes", ex -> ex.json(200, volumes.list(ex.param("pool"))));
        r.add("POST", "/v1/pools/{pool}/volumes", ex -> {
            pools.get(ex.param("pool"));
            ex.json(201, volumes.create(ex.param("pool"),
                    ex.bodyAs(VolumeService.CreateRequest.class, ErrorCode.INVALID_VOLUME)));
        });
        r.add("GET", "/v1/pools/{pool}/volumes/{vol}", ex -> ex.json(200, volumes.info(ex.param("pool"), ex.param("vol"))));
        r.add("DELETE", "/v1/pools/{pool}/volumes/{vol}", ex -> {
            volumes.delete(ex.param("pool"), ex.param("vol"));
            ex.json(200, Map.of("deleted", ex.param("vol"), "pool", ex.param("pool")));
        });
        r.add("POST", "/v1/pools/{pool}/volumes/{vol}/resize", ex -> {
            volumes.info(ex.param("pool"), ex.param("vol"));
            ResizeRequest req = ex.bodyAs(ResizeRequest.class, ErrorCode.INVALID_VOLUME);
            if ((req.size() == null) == (req.sizeBytes() == null)) {
                throw new JvirtException(ErrorCode.INVALID_VOLUME, "give the new size as size (e.g. \"2G\") or sizeBytes");
            }
            long bytes = req.size() != null ? Sizes.parse(req.size()) : Sizes.check(req.sizeBytes());
            ex.json(200, volumes.resize(ex.param("pool"), ex.param("vol"), bytes));
        });
        r.add("POST", "/v1/pools/{pool}/volumes/{vol}/clone", ex -> {
            volumes.info(ex.param("pool"), ex.param("vol"));
            CloneRequest req = ex.bodyAs(CloneRequest.class, ErrorCode.INVALID_VOLUME);
            ex.json(201, volumes.clone(ex.param("pool"), ex.param("vol"), req.name(), req.format()));
        });
    }

    private static Map<String, Object> describe(Pool pool) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", pool.name());
        m.put("path", pool.path().toString());
        try {
            FileStore fs = Files.getFileStore(pool.path());
            m.put("capacity", fs.getTotalSpace());
            m.put("available", fs.getUsableSpace());
        } catch (IOException e) {
            m.put("error", "cannot read the file system of " + pool.path() + ": " + e.getMessage());
        }
        try (var files = Files.list(pool.path())) {
            m.put("volumes", files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).count());
        } catch (IOException e) {
            m.put("volumes", 0);
        }
        return m;
    }
}
