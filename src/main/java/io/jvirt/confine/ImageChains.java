package io.jvirt.confine;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import io.jvirt.storage.QemuImgException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a disk's backing chain one layer at a time and checks each layer before anything opens it.
 *
 * <p>Not {@code qemu-img info --backing-chain}: that opens every layer the headers name before jvirt has seen
 * a single name (a header naming a FIFO hangs it, one naming a device makes it read the device). Plain
 * {@code qemu-img info -U -f FORMAT} opens one image without its backing file and reports what the header names;
 * jvirt resolves that name as QEMU would (relative to the overlay's directory), puts it through the
 * {@link PathPolicy}, and only then looks at it. The header must record the backing file's format (a format is
 * never probed), may not name a protocol or a {@code json:} pseudo-file, and may not use an external data file.
 */
public final class ImageChains {
    /** Deeper chains are refused: a loop of links, or a chain nobody should run a VM on. */
    public static final int MAX_DEPTH = 32;
    private static final Set<String> FORMATS = Set.of("qcow2", "raw");
    /** "nbd:...", "file:...", "json:{...}", "https://...": anything that is not a plain path. */
    private static final Pattern PROTOCOL = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    private final QemuImg qemuImg;
    private final PathPolicy policy;

    public ImageChains(QemuImg qemuImg, PathPolicy policy) {
        this.qemuImg = qemuImg;
        this.policy = policy;
    }

    /** The checked chain of {@code top} (in {@code format}); {@code field} names the disk in errors. */
    public ImageChain read(String field, Path top, String format) {
        checkFormat(field, format);
        List<ImageChain.Layer> layers = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        Path path = policy.checkFile(field, top);
        String fmt = format;
        while (true) {
            if (!seen.add(path)) {
                throw invalid(field, "backing chain loops back to " + path, path, "backing-loop");
            }
            if (layers.size() >= MAX_DEPTH) {
                throw invalid(field, "backing chain is deeper than " + MAX_DEPTH + " layers", path, "backing-depth");
            }
            JsonNode info = info(field, path, fmt);
            JsonNode dataFile = info.path("format-specific").path("data").path("data-file");
            if (!dataFile.isMissingNode()) {
                throw invalid(field, path + " keeps its data in an external file (" + dataFile.asText()
                        + "), which jvirt does not pass to QEMU", path, "external-data-file");
            }
            layers.add(new ImageChain.Layer(path, fmt, info.path("virtual-size").asLong()));
            JsonNode backing = info.get("backing-filename");
            if (backing == null || backing.isNull() || backing.asText().isEmpty()) {
                return new ImageChain(layers);
            }
            String name = backing.asText();
            String where = field + " (backing file of " + path + ")";
            if (name.startsWith("json:") || PROTOCOL.matcher(name).find()) {
                throw invalid(where, "names '" + name + "', not a plain file path", path, "backing-protocol");
            }
            JsonNode recorded = info.get("backing-filename-format");
            if (recorded == null || recorded.asText().isEmpty()) {
                throw invalid(where, "the header names " + name + " without its format; record it with"
                        + " 'qemu-img rebase -u -b " + name + " -F FORMAT " + path + "'", path, "backing-format");
            }
            fmt = recorded.asText();
            if (!FORMATS.contains(fmt)) {
                throw invalid(where, "backing format '" + fmt + "' is not qcow2 or raw", path, "backing-format");
            }
            Path named = Path.of(name);
            Path resolved = named.isAbsolute() ? named : path.getParent().resolve(named);
            try {
                path = policy.checkFile(where, resolved.normalize());
            } catch (JvirtException e) {
                Map<String, Object> details = new HashMap<>(e.details());
                details.put("overlay", path.toString());
                details.put("layer", layers.size());
                throw new JvirtException(e.code(), e.getMessage(), details, e);
            }
        }
    }

    private JsonNode info(String field, Path path, String format) {
        try {
            return qemuImg.info(path, format);
        } catch (QemuImgException e) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, field + ": " + path + " is not a readable "
                    + format + " image: " + e.getMessage(), Map.of("path", path.toString()), e);
        }
    }

    private static void checkFormat(String field, String format) {
        if (!FORMATS.contains(format)) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, field + ": format must be qcow2 or raw, got '" + format + "'");
        }
    }

    private static JvirtException invalid(String field, String message, Path path, String rule) {
        return new JvirtException(ErrorCode.PATH_NOT_ALLOWED, field + ": " + message + " [rule " + rule + "]",
                Map.of("path", path.toString(), "rule", rule));
    }
}
