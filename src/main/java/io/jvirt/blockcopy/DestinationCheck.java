package io.jvirt.blockcopy;

import io.jvirt.storage.Sizes;
import io.jvirt.qemu.monitor.ImageInfo;
import io.jvirt.storage.QemuImg;
import io.jvirt.storage.QemuImgException;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.VmDefinition;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Everything a copy request is checked against before anything changes: the destination path a client sent (never
 * trusted as given), an existing destination's format, size and backing, and the tuning knobs.
 */
final class DestinationCheck {
    private static final long MIB = 1024L * 1024;
    private final Supplier<List<VmDefinition>> definitions;
    private final QemuImg qemuImg;
    /** The path policy on a file to be created (pool or --allow-dir; never a system or state directory). */
    private final java.util.function.BiFunction<String, Path, Path> policy;

    DestinationCheck(Supplier<List<VmDefinition>> definitions, QemuImg qemuImg,
                     java.util.function.BiFunction<String, Path, Path> policy) {
        this.definitions = definitions;
        this.qemuImg = qemuImg;
        this.policy = policy;
    }

    /** Rate, granularity, buffer and timeout within what QEMU (and common sense) accept. */
    static void tuning(CopyRequest req) {
        if (req.bandwidthMiB() != null && req.bandwidthMiB() < 0) {
            throw bad("bandwidth must not be negative");
        }
        if (req.granularity() != null) {
            long g = req.granularity();
            if (g < 512 || g > 64 * MIB || Long.bitCount(g) != 1) {
                throw bad("granularity must be a power of 2 from 512 B to 64 MiB, not " + g);
            }
        }
        if (req.bufSize() != null && (req.bufSize() < 1 || req.bufSize() > 1024 * MIB)) {
            throw bad("buf-size must be from 1 B to 1 GiB");
        }
        if (req.timeoutSeconds() != null && req.timeoutSeconds() <= 0) {
            throw bad("timeout must be positive");
        }
    }

    /**
     * A client's destination path: absolute, no {@code ..} or control characters, in an existing directory, not a
     * symbolic link, where the path policy lets a disk lie, and no image the VM or any other VM uses. Returns
     * its real path.
     */
    Path path(String raw, String source, ImageInfo image) {
        if (raw.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)) {
            throw bad("destination path contains control characters");
        }
        Path p = Path.of(raw);
        if (!p.isAbsolute() || !p.normalize().equals(p) || raw.contains("/../") || raw.endsWith("/..")) {
            throw bad("destination must be an absolute path without '.' or '..' segments: " + raw);
        }
        Path parent = p.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw bad("destination directory " + parent + " does not exist");
        }
        if (Files.isSymbolicLink(p)) {
            throw bad("destination " + p + " is a symbolic link");
        }
        if (Files.exists(p) && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw bad("destination " + p + " is not a regular file");
        }
        // trust boundary (#12): where the destination would lie is checked before anything is created there
        p = policy.apply("dest", p);
        List<String> chain = new ArrayList<>();
        chain.add(source);
        for (ImageInfo b = image.backingImage(); b != null; b = b.backingImage()) {
            chain.add(b.filename());
        }
        if (chain.contains(p.toString())) {
            throw bad("destination " + p + " is the disk's own image or one of its backing files");
        }
        for (VmDefinition other : definitions.get()) {
            for (VmDefinition.Disk od : other.disks() == null ? List.<VmDefinition.Disk>of() : other.disks()) {
                if (Path.of(od.path()).normalize().equals(p)) {
                    throw new JvirtException(ErrorCode.VOLUME_IN_USE, "destination " + p + " is disk " + od.name()
                            + " of VM '" + other.name() + "'", Map.of("dest", p.toString(), "vm", other.name()));
                }
            }
        }
        return p;
    }

    /** An existing destination (--reuse-external): a readable image of the format, large enough, same backing. */
    void reused(Path dest, String format, long sourceSize, Backing backing) {
        QemuImg.Image info;
        try {
            info = qemuImg.image(dest, format);
        } catch (QemuImgException e) {
            throw bad("destination " + dest + " is not a usable " + format + " image: " + e.getMessage());
        }
        long size = info.virtualSize();
        if (size < sourceSize) {
            throw bad("destination " + dest + " is " + Sizes.human(size) + ", smaller than the source disk ("
                    + Sizes.human(sourceSize) + ")");
        }
        if (backing != null) {
            String b = info.backingFile() == null ? "" : info.backingFile();
            if (!b.isEmpty() && !Path.of(b).isAbsolute()) {
                b = dest.resolveSibling(b).normalize().toString();
            }
            if (!b.equals(backing.file())) {
                throw bad("for a shallow copy the destination's backing file must be the source's (" + backing.file()
                        + "), not '" + b + "'");
            }
        }
    }

    /** The image below the source's top: what a shallow copy's destination is put on. */
    record Backing(String file, String format) {
        static Backing of(ImageInfo image) {
            ImageInfo b = image.backingImage();
            if (b == null) {
                return null; // nothing below the top: a shallow copy is a full one
            }
            String file = image.fullBackingFilename() != null ? image.fullBackingFilename() : b.filename();
            return new Backing(file, image.backingFilenameFormat() != null ? image.backingFilenameFormat() : b.format());
        }
    }

    private static JvirtException bad(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
