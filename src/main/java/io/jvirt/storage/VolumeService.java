package io.jvirt.storage;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.VmDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Volumes of the pools: create, inspect, list, resize, clone, delete. Every qemu-img call runs under the locks of
 * the volumes it touches (never a global lock). New images are written under a hidden temporary name and renamed
 * into place, so a crash never leaves a half-made volume under a real name.
 */
public final class VolumeService {
    public static final Set<String> FORMATS = Set.of("qcow2", "raw");

    /** What a client asks for when creating a volume; {@code size} ("64M") or {@code sizeBytes}. */
    public record CreateRequest(String name, String format, String size, Long sizeBytes, String backing,
            String backingFormat) {
    }

    private final PoolManager pools;
    private final QemuImg qemuImg;
    private final Supplier<List<VmDefinition>> vmDefinitions;
    private final VolumeLocks locks = new VolumeLocks();

    public VolumeService(PoolManager pools, QemuImg qemuImg, Supplier<List<VmDefinition>> vmDefinitions) {
        this.pools = pools;
        this.qemuImg = qemuImg;
        this.vmDefinitions = vmDefinitions;
        removeLeftovers();
    }

    /**
     * Half-made images a previous daemon left when it died mid-create or mid-clone. Only at start-up: then no
     * operation of ours can be writing one. The real name never existed, so there is nothing to roll back.
     */
    private void removeLeftovers() {
        for (Pool pool : pools.list()) {
            try (Stream<Path> files = Files.list(pool.path())) {
                for (Path f : files.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList()) {
                    Files.deleteIfExists(f);
                    Path made = f.resolveSibling(f.getFileName().toString().substring(".tmp-".length()));
                    if (!Files.exists(made)) {
                        VolumeFormats.remove(made);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                // a pool we cannot read now is reported when it is used
            }
        }
    }

    public List<Volume> list(String poolName) {
        Pool pool = pools.get(poolName);
        List<Volume> out = new ArrayList<>();
        for (String name : volumeNames(pool)) {
            try {
                out.add(describe(pool, name, StorageNames.volumeFile(pool, name)));
            } catch (JvirtException e) {
                // deleted meanwhile, or a file qemu-img cannot read: not a volume to list
            }
        }
        return out;
    }

    public Volume info(String poolName, String name) {
        Pool pool = pools.get(poolName);
        Path file = existing(pool, name);
        return describe(pool, name, file);
    }

    public Volume create(String poolName, CreateRequest req) {
        if (req == null) {
            throw invalid("the request body is empty; a JSON object with name, format and size is expected");
        }
        Pool pool = pools.get(poolName);
        Path file = StorageNames.volumeFile(pool, req.name());
        String format = req.format() == null ? "qcow2" : req.format();
        if (!FORMATS.contains(format)) {
            throw invalid("format must be qcow2 or raw, got '" + format + "'");
        }
        if (req.size() != null && req.sizeBytes() != null) {
            throw invalid("give size or sizeBytes, not both");
        }
        Long size = req.size() != null ? Long.valueOf(Sizes.parse(req.size()))
                : req.sizeBytes() != null ? Long.valueOf(Sizes.check(req.sizeBytes())) : null;
        if (req.backing() == null) {
            if (req.backingFormat() != null) {
                throw invalid("backingFormat is given without a backing volume");
            }
            if (size == null) {
                throw invalid("size is required (or a backing volume whose size the new volume takes)");
            }
            try (VolumeLocks.Held held = locks.lock(file)) {
                refuseExisting(file, req.name(), pool);
                makeAtomically(file, format, tmp -> qemuImg.create(tmp, format, size, null, null));
                return describe(pool, req.name(), file);
            }
        }
        if (!format.equals("qcow2")) {
            throw invalid("only a qcow2 volume can have a backing volume");
        }
        Path backing = StorageNames.volumeFile(pool, req.backing());
        if (backing.equals(file)) {
            throw invalid("a volume cannot be its own backing volume");
        }
        try (VolumeLocks.Held held = locks.lock(file, backing)) {
            refuseExisting(file, req.name(), pool);
            if (!Files.isRegularFile(backing)) {
                throw notFound(pool, req.backing());
            }
            String actual = probeFormat(backing, req.backing());
            String backingFormat = req.backingFormat() == null ? actual : req.backingFormat();
            if (!FORMATS.contains(backingFormat)) {
                throw invalid("backingFormat must be qcow2 or raw, got '" + backingFormat + "'");
            }
            if (!backingFormat.equals(actual)) {
                throw invalid("backing volume '" + req.backing() + "' is " + actual + ", not " + backingFormat);
            }
            // A name relative to the overlay's directory keeps the pool movable as a whole.
            makeAtomically(file, format, tmp -> qemuImg.create(tmp, format, size, Path.of(backing.getFileName().toString()),
                    backingFormat));
            return describe(pool, req.name(), file);
        }
    }

    /** Grows a volume; shrinking is refused (it would cut off guest data). */
    public Volume resize(String poolName, String name, long newSize) {
        Pool pool = pools.get(poolName);
        Path file = existing(pool, name);
        Sizes.check(newSize);
        try (VolumeLocks.Held held = locks.lock(file)) {
            if (!Files.isRegularFile(file)) {
                throw notFound(pool, name);
            }
            Volume v = describe(pool, name, file);
            if (newSize < v.virtualSize()) {
                throw new JvirtException(ErrorCode.INVALID_VOLUME, "shrinking volume '" + name + "' from "
                        + v.virtualSize() + " to " + newSize + " bytes is refused: it would cut off guest data",
                        Map.of("volume", name, "virtualSize", v.virtualSize(), "requested", newSize));
            }
            if (newSize > v.virtualSize()) {
                qemu(name, () -> qemuImg.resize(file, v.format(), newSize));
            }
            return describe(pool, name, file);
        }
    }

    /** A full, independent copy (the source's chain flattened) in the source's format unless told otherwise. */
    public Volume clone(String poolName, String name, String target, String targetFormat) {
        Pool pool = pools.get(poolName);
        Path source = existing(pool, name);
        Path file = StorageNames.volumeFile(pool, target);
        if (targetFormat != null && !FORMATS.contains(targetFormat)) {
            throw invalid("format must be qcow2 or raw, got '" + targetFormat + "'");
        }
        try (VolumeLocks.Held held = locks.lock(source, file)) {
            refuseExisting(file, target, pool);
            if (!Files.isRegularFile(source)) {
                throw notFound(pool, name);
            }
            String fromFormat = probeFormat(source, name);
            String toFormat = targetFormat == null ? fromFormat : targetFormat;
            makeAtomically(file, toFormat, tmp -> qemuImg.convert(source, fromFormat, tmp, toFormat));
            return describe(pool, target, file);
        }
    }

    /** Deletes a volume no VM uses and no other volume of the pool is built on. */
    public void delete(String poolName, String name) {
        Pool pool = pools.get(poolName);
        Path file = existing(pool, name);
        try (VolumeLocks.Held held = locks.lock(file)) {
            if (!Files.isRegularFile(file)) {
                throw notFound(pool, name);
            }
            Optional<String> vm = usingVm(file);
            if (vm.isPresent()) {
                throw new JvirtException(ErrorCode.VOLUME_IN_USE, "volume '" + name + "' is a disk of VM '" + vm.get()
                        + "'; remove it from the VM's definition first", Map.of("volume", name, "vm", vm.get()));
            }
            Optional<String> overlay = overlayOf(pool, file);
            if (overlay.isPresent()) {
                throw new JvirtException(ErrorCode.VOLUME_IN_USE, "volume '" + name + "' is the backing file of volume '"
                        + overlay.get() + "'", Map.of("volume", name, "overlay", overlay.get()));
            }
            try {
                Files.delete(file);
                VolumeFormats.remove(file);
            } catch (NoSuchFileException e) {
                throw notFound(pool, name);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    // ---- checks ------------------------------------------------------------------------------------------

    /**
     * The VM whose definition has this file as a disk, or as an image in a disk's backing chain (an overlay kept
     * outside the pool). Compared by real path, so links and ".." do not hide it.
     */
    private Optional<String> usingVm(Path file) {
        Path real = realPath(file);
        for (VmDefinition d : vmDefinitions.get()) {
            for (VmDefinition.Disk disk : d.disks() == null ? List.<VmDefinition.Disk>of() : d.disks()) {
                if (disk.path() != null && real.equals(realPath(Path.of(disk.path())))) {
                    return Optional.of(d.name());
                }
            }
        }
        for (VmDefinition d : vmDefinitions.get()) {
            for (VmDefinition.Disk disk : d.disks() == null ? List.<VmDefinition.Disk>of() : d.disks()) {
                if (disk.path() != null && "qcow2".equals(disk.format()) && chainHolds(Path.of(disk.path()), real)) {
                    return Optional.of(d.name());
                }
            }
        }
        return Optional.empty();
    }

    /** Whether {@code image}'s backing chain (read with its defined format, never probed) contains {@code real}. */
    private boolean chainHolds(Path image, Path real) {
        JsonNode chain;
        try {
            chain = qemuImg.info(image, "qcow2", true);
        } catch (QemuImgException e) {
            return false; // an image qemu-img cannot open has no chain we could break
        }
        for (int i = 1; chain.isArray() && i < chain.size(); i++) {
            if (real.equals(realPath(Path.of(chain.get(i).path("filename").asText())))) {
                return true;
            }
        }
        return false;
    }

    /** A volume of the pool whose backing file is {@code file}. */
    private Optional<String> overlayOf(Pool pool, Path file) {
        Path real = realPath(file);
        for (String other : volumeNames(pool)) {
            Path overlay = pool.path().resolve(other);
            if (overlay.equals(file)) {
                continue;
            }
            String format = VolumeFormats.get(overlay).orElse(null);
            if ("raw".equals(format)) {
                continue; // a raw image has no backing file (and must not be probed for one)
            }
            JsonNode info;
            try {
                info = qemuImg.info(overlay, format, false);
            } catch (QemuImgException e) {
                continue; // not an image qemu-img can read, so nothing is built on it
            }
            String backing = info.path("backing-filename").asText(null);
            if (backing != null && real.equals(realPath(overlay.getParent().resolve(backing)))) {
                return Optional.of(other);
            }
        }
        return Optional.empty();
    }

    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    private Volume describe(Pool pool, String name, Path file) {
        String known = VolumeFormats.get(file).orElse(null);
        JsonNode chain = qemu(name, () -> qemuImg.info(file, known, true));
        JsonNode top = chain.isArray() ? chain.path(0) : chain;
        List<Volume.BackingImage> below = new ArrayList<>();
        for (int i = 1; chain.isArray() && i < chain.size(); i++) {
            JsonNode b = chain.get(i);
            below.add(new Volume.BackingImage(b.path("filename").asText(), b.path("format").asText(),
                    b.path("virtual-size").asLong(), b.path("backing-filename").asText(null)));
        }
        return new Volume(name, pool.name(), file.toString(), top.path("format").asText(),
                top.path("virtual-size").asLong(), top.path("actual-size").asLong(),
                top.path("backing-filename").asText(null), top.path("backing-filename-format").asText(null),
                below.isEmpty() ? null : below);
    }

    /** The recorded format; probed only for files jvirt did not make. */
    private String probeFormat(Path file, String name) {
        Optional<String> known = VolumeFormats.get(file);
        if (known.isPresent()) {
            return known.get();
        }
        return qemu(name, () -> qemuImg.info(file, false)).path("format").asText();
    }

    private Path existing(Pool pool, String name) {
        Path file = StorageNames.volumeFile(pool, name);
        if (!Files.isRegularFile(file)) {
            throw notFound(pool, name);
        }
        return file;
    }

    private static List<String> volumeNames(Pool pool) {
        try (Stream<Path> files = Files.list(pool.path())) {
            return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list pool " + pool.name(), e);
        }
    }

    private static void refuseExisting(Path file, String name, Pool pool) {
        if (Files.exists(file)) {
            throw new JvirtException(ErrorCode.VOLUME_EXISTS, "volume '" + name + "' already exists in pool '"
                    + pool.name() + "'", Map.of("volume", name, "pool", pool.name()));
        }
    }

    private interface Maker {
        void make(Path tmp);
    }

    /** Writes the image under a hidden name (never listed, never a valid volume name), then renames it into place. */
    private void makeAtomically(Path file, String format, Maker maker) {
        Path tmp = file.resolveSibling(".tmp-" + file.getFileName());
        try {
            Files.deleteIfExists(tmp); // left by a crash
            // 0600 from the start: qemu-img writes into the existing file and keeps its mode (never the umask's);
            // a running QEMU is granted its image by an ACL entry
            io.jvirt.files.FileModes.createFile(tmp, io.jvirt.files.FileModes.PRIVATE_FILE);
            VolumeFormats.put(file, format);
            qemu(file.getFileName().toString(), () -> {
                maker.make(tmp);
                return null;
            });
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
                if (!Files.exists(file)) {
                    VolumeFormats.remove(file); // the image was not made: neither is its record
                }
            } catch (IOException | UncheckedIOException ignored) {
                // best effort; the next attempt removes it
            }
        }
    }

    private static void qemu(String name, Runnable r) {
        qemu(name, () -> {
            r.run();
            return null;
        });
    }

    /** qemu-img's own words; a lock conflict means a running QEMU holds the image. */
    private static <T> T qemu(String name, Supplier<T> call) {
        try {
            return call.get();
        } catch (QemuImgException e) {
            if (e.getMessage().contains("lock")) {
                throw new JvirtException(ErrorCode.VOLUME_IN_USE, "volume '" + name + "' is in use by a running QEMU: "
                        + e.getMessage(), Map.of("volume", name), e);
            }
            throw new JvirtException(ErrorCode.QEMU_FAILED, "qemu-img failed on volume '" + name + "': " + e.getMessage(),
                    Map.of("volume", name), e);
        }
    }

    private static JvirtException invalid(String message) {
        return new JvirtException(ErrorCode.INVALID_VOLUME, message);
    }

    private static JvirtException notFound(Pool pool, String name) {
        return new JvirtException(ErrorCode.VOLUME_NOT_FOUND, "no volume '" + name + "' in pool '" + pool.name() + "'",
                Map.of("volume", name, "pool", pool.name()));
    }
}
