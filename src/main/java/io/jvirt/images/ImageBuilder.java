package io.jvirt.images;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.storage.QemuImg;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Makes a VM disk from a template: resolve it in a verified index, fetch it into the cache (sha512 checked), copy it
 * into the output directory with qemu-img, grow it, customize it, and only then give it its final name. A failure
 * at any step removes the half-made volume; the output directory never holds a partial disk under a real name.
 */
public final class ImageBuilder {
    /** What to build. {@code sizeBytes} null keeps the template's size. */
    public record Request(String template, String source, String volume, Long sizeBytes, String format,
            Customization customization, boolean rootPasswordGenerated) {
        public Request(String template, String source, String volume, Long sizeBytes, String format,
                Customization customization) {
            this(template, source, volume, sizeBytes, format, customization, false);
        }
    }

    /** The volume made. */
    /** {@code generatedRootPassword}: set only when the client asked for a random one (shown once, as virt-builder does). */
    public record Result(String template, String source, String revision, String volume, String path, String format,
            long virtualSize, boolean cached, boolean customized, long millis, String generatedRootPassword) {
        /** The value shown in place of a generated password after its one showing. */
        public static final String REDACTED = "(redacted: shown once)";

        /** This result with a generated password replaced by {@link #REDACTED}. */
        public Result redacted() {
            return generatedRootPassword == null ? this : new Result(template, source, revision, volume, path, format,
                    virtualSize, cached, customized, millis, REDACTED);
        }
    }

    private final ImageCatalog catalog;
    private final TemplateCache cache;
    private final QemuImg qemuImg;
    private final Path outputDir;
    private final VirtCustomizer virtCustomizer;
    private final Uploads uploads;

    /** {@code outputDir}: where volumes go (the default storage pool's directory, once pools exist). */
    public ImageBuilder(ImageCatalog catalog, TemplateCache cache, QemuImg qemuImg, Path outputDir) {
        this(catalog, cache, qemuImg, outputDir, null);
    }

    /** {@code virtCustomizer}: for templates that are not a bare ext filesystem; null if not installed. */
    public ImageBuilder(ImageCatalog catalog, TemplateCache cache, QemuImg qemuImg, Path outputDir,
            VirtCustomizer virtCustomizer) {
        this.catalog = catalog;
        this.cache = cache;
        this.qemuImg = qemuImg;
        this.outputDir = outputDir;
        this.virtCustomizer = virtCustomizer;
        this.uploads = new Uploads(cache.dir().resolveSibling("image-uploads"));
    }

    /** Files clients sent for {@code --upload}, waiting for the build that uses them. */
    public Uploads uploads() {
        return uploads;
    }

    public Path outputDir() {
        return outputDir;
    }

    private static final java.util.regex.Pattern LEFTOVER = java.util.regex.Pattern.compile(
            "\\..+\\.[0-9a-f]{8}(\\.raw)?\\.part|\\.(write|rootpw)-.*\\.tmp|\\.debugfs-.*\\.cmd|\\.(download|unpack)-[0-9a-f]{8}\\.part");

    /**
     * Deletes what a build interrupted by a daemon crash left: its part files are named so that nothing else
     * matches (a leading dot, a random tag, {@code .part}), and a volume never has its final name before it is whole.
     * Called once at daemon start, before any build can run.
     */
    public int removeLeftovers() {
        int removed = uploads.removeAll();
        for (Path dir : List.of(outputDir, cache.dir())) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    if (LEFTOVER.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)) {
                        Files.deleteIfExists(p);
                        removed++;
                    }
                }
            } catch (IOException e) {
                throw ImageException.tool("cleaning " + dir + ": " + e.getMessage());
            }
        }
        return removed;
    }

    /** Checks what can be checked without fetching anything; returns the target path. */
    public Path precheck(Request r) {
        String format = r.format() == null ? "qcow2" : r.format();
        if (!List.of("qcow2", "raw").contains(format)) {
            throw ImageException.invalid("format must be qcow2 or raw, got '" + format + "'");
        }
        if (r.template() == null || r.template().isBlank()) {
            throw ImageException.invalid("no template given");
        }
        Path target = VolumeNames.resolve(outputDir, r.volume());
        if (Files.exists(target)) {
            throw new JvirtException(ErrorCode.VOLUME_EXISTS, "volume '" + r.volume() + "' already exists in " + outputDir,
                    Map.of("volume", r.volume()));
        }
        return target;
    }

    /** What {@link #fetch} did: the template in the cache, and whether it was there already. */
    public record Fetched(String template, String source, String revision, String path, boolean cached, long millis) {
    }

    /** Downloads a template once into the cache (verified against the signed index, decompressed), builds nothing. */
    public Fetched fetch(String template, String source, Consumer<Map<String, Object>> progress) {
        long t0 = System.nanoTime();
        PhaseProgress phases = new PhaseProgress(progress);
        ImageCatalog.Resolved t = catalog.resolve(template, source);
        phases.instant("resolve", Map.of("source", t.source().name(), "revision", t.entry().revisionOrDefault()));
        boolean wasCached = Files.isRegularFile(cache.pathFor(String.valueOf(t.entry().checksumSha512())));
        Path file = cache.fetch(t, phases);
        return new Fetched(t.entry().id(), t.source().name(), String.valueOf(t.entry().revisionOrDefault()),
                file.toString(), wasCached, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * {@code progress} gets the phases resolve, download/verify/decompress (or cached), then convert (qemu-img -p),
     * resize and customize when asked for, and the final convert, each with bytes done and total.
     */
    public Result build(Request r, Consumer<Map<String, Object>> progress, BooleanSupplier cancelled) {
        long t0 = System.nanoTime();
        PhaseProgress phases = new PhaseProgress(progress);
        Path target = precheck(r);
        String format = r.format() == null ? "qcow2" : r.format();
        Customization custom = r.customization() == null ? new Customization(null, null) : r.customization();

        ImageCatalog.Resolved t = catalog.resolve(r.template(), r.source());
        phases.instant("resolve", Map.of("source", t.source().name(), "revision", t.entry().revisionOrDefault()));
        boolean wasCached = Files.isRegularFile(cache.pathFor(String.valueOf(t.entry().checksumSha512())));
        Path template = cache.fetch(t, phases);
        checkCancel(cancelled);

        String templateFormat = t.entry().formatOrRaw();
        long templateSize = virtualSize(checkedTemplateInfo(t, template, templateFormat));
        long size = r.sizeBytes() == null ? templateSize : r.sizeBytes();
        if (size < templateSize) {
            throw ImageException.invalid("size " + size + " is smaller than template '" + t.entry().id() + "' ("
                    + templateSize + " bytes); templates can only grow");
        }
        String tag = UUID.randomUUID().toString().substring(0, 8);
        Path work = outputDir.resolve("." + r.volume() + "." + tag + ".raw.part");
        Path part = outputDir.resolve("." + r.volume() + "." + tag + ".part");
        try {
            Files.createDirectories(outputDir);
            boolean ext = false;
            if (!custom.isEmpty() || size > templateSize) {
                // Work on a raw copy first: debugfs/resize2fs need raw, and a bare ext filesystem can grow with it.
                convert(phases, template, templateFormat, work, "raw", templateSize);
                ext = Ext4Customizer.isExtFilesystem(work);
                if (!custom.isEmpty() && !ext && virtCustomizer == null) {
                    throw ImageException.invalid("template '" + t.entry().id() + "' is not a bare ext2/3/4 filesystem; "
                            + "customizing it needs virt-customize (libguestfs-tools and a host kernel in /boot for its appliance), which is not available here");
                }
                checkCancel(cancelled);
                // bytes here are the disk's size: from the template's to the requested one
                phases.start("resize", size, Map.of("from", templateSize));
                qemuImg.resize(work, "raw", size);
                if (ext && size > templateSize) {
                    Ext4Customizer.growFilesystem(work);
                }
                phases.finish(size);
                if (!custom.isEmpty()) {
                    // bytes here are what goes into the guest; debugfs/virt-customize write it all in one run
                    long bytes = custom.contentBytes();
                    phases.start("customize", bytes, Map.of("with", ext ? "debugfs" : "virt-customize"));
                    if (ext) {
                        Ext4Customizer.apply(work, custom, outputDir);
                    } else {
                        virtCustomizer.apply(work, custom);
                    }
                    phases.finish(bytes);
                }
                checkCancel(cancelled);
                if (format.equals("raw")) {
                    Files.move(work, part);
                } else {
                    convert(phases, work, "raw", part, format, size);
                }
            } else {
                convert(phases, template, templateFormat, part, format, templateSize);
            }
            checkCancel(cancelled);
            // the final name appears only once the disk is complete; a concurrent build of the same name loses here
            try {
                Files.createLink(target, part);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                throw new JvirtException(ErrorCode.VOLUME_EXISTS, "volume '" + r.volume() + "' already exists in "
                        + outputDir, Map.of("volume", r.volume()));
            }
            Files.delete(part);
            long actual = virtualSize(qemuImg.info(target, format));
            return new Result(t.entry().id(), t.source().name(), t.entry().revisionOrDefault(), r.volume(),
                    target.toString(), format, actual, wasCached, !custom.isEmpty(), (System.nanoTime() - t0) / 1_000_000,
                    r.rootPasswordGenerated() ? custom.rootPassword() : null);
        } catch (IOException e) {
            throw ImageException.tool("building volume " + r.volume() + ": " + e.getMessage());
        } catch (io.jvirt.storage.QemuImgException e) {
            throw ImageException.tool("qemu-img failed: " + e.getMessage());
        } finally {
            deleteQuietly(work);
            deleteQuietly(part);
        }
    }

    /**
     * The template read as its declared format (never probed), and refused if it refers to other files: a backing
     * file or an external data file would make qemu-img copy host files into the volume.
     */
    private JsonNode checkedTemplateInfo(ImageCatalog.Resolved t, Path template, String format) {
        JsonNode info;
        try {
            info = qemuImg.info(template, format);
        } catch (io.jvirt.storage.QemuImgException e) {
            throw ImageException.badIndex(t.source().name(), "[" + t.entry().id() + "] is not a " + format + " image: "
                    + e.getMessage());
        }
        if (info.hasNonNull("backing-filename") || info.path("format-specific").path("data").hasNonNull("data-file")) {
            throw ImageException.badIndex(t.source().name(), "[" + t.entry().id() + "] refers to another file "
                    + "(backing or data file); templates must be self-contained");
        }
        return info;
    }

    private static long virtualSize(JsonNode info) {
        return info.path("virtual-size").asLong();
    }

    /** qemu-img convert reporting bytes of the virtual disk copied (its -p percentage of {@code virtualSize}). */
    private void convert(PhaseProgress phases, Path from, String fromFormat, Path to, String toFormat, long virtualSize) {
        phases.start("convert", virtualSize, Map.of("to", toFormat));
        qemuImg.convert(from, fromFormat, to, toFormat, pct -> phases.update(Math.round(virtualSize * pct / 100), virtualSize));
        phases.finish(virtualSize);
    }

    private static void checkCancel(BooleanSupplier cancelled) {
        if (cancelled.getAsBoolean()) {
            throw new JvirtException(ErrorCode.CANCELLED, "image build cancelled");
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
