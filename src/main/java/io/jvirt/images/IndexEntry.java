package io.jvirt.images;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code [id]} section of a virt-builder index. The known keys have fields; any other key (a newer virt-builder's,
 * or a subkeyed one like {@code checksum[sha256]}) is kept in {@code extra} in file order so a rewrite loses nothing.
 * Sizes are bytes; {@code null} means the key was absent.
 */
public record IndexEntry(String id, String name, String osinfo, String arch, String file, String revision,
        String checksumSha512, String format, Long size, Long compressedSize, String expand, String notes,
        boolean hidden, List<String> aliases, Map<String, String> extra) {

    public IndexEntry {
        aliases = aliases == null ? List.of() : List.copyOf(aliases);
        extra = extra == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** The disk format of the (decompressed) template; virt-builder's default is raw. */
    public String formatOrRaw() {
        return format == null || format.isEmpty() ? "raw" : format;
    }

    /** virt-builder's sources revision default is 1. */
    public String revisionOrDefault() {
        return revision == null ? "1" : revision;
    }

    public boolean isXz() {
        return file != null && file.endsWith(".xz");
    }

    public boolean answersTo(String wanted) {
        return id.equals(wanted) || aliases.contains(wanted);
    }
}
