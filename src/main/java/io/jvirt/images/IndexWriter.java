package io.jvirt.images;

import java.util.List;
import java.util.Map;

/** Writes an index in virt-builder's format, keys in the order virt-builder's own sources use. */
public final class IndexWriter {
    static final List<String> KNOWN_KEYS = List.of("name", "osinfo", "arch", "file", "revision", "checksum[sha512]",
            "format", "size", "compressed_size", "expand", "notes", "hidden", "aliases");

    private IndexWriter() {
    }

    public static String write(TemplateIndex index) {
        StringBuilder sb = new StringBuilder();
        for (IndexEntry e : index.entries()) {
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append('[').append(e.id()).append("]\n");
            field(sb, "name", e.name());
            field(sb, "osinfo", e.osinfo());
            field(sb, "arch", e.arch());
            field(sb, "file", e.file());
            field(sb, "revision", e.revision());
            field(sb, "checksum[sha512]", e.checksumSha512());
            field(sb, "format", e.format());
            field(sb, "size", e.size() == null ? null : e.size().toString());
            field(sb, "compressed_size", e.compressedSize() == null ? null : e.compressedSize().toString());
            field(sb, "expand", e.expand());
            field(sb, "notes", e.notes());
            if (e.hidden()) {
                field(sb, "hidden", "true");
            }
            if (!e.aliases().isEmpty()) {
                field(sb, "aliases", String.join(" ", e.aliases()));
            }
            for (Map.Entry<String, String> x : e.extra().entrySet()) {
                field(sb, x.getKey(), x.getValue());
            }
        }
        return sb.toString();
    }

    /** A value's later lines become continuation lines: a leading space, and a lone space for an empty line. */
    private static void field(StringBuilder sb, String key, String value) {
        if (value == null) {
            return;
        }
        String[] lines = value.split("\n", -1);
        sb.append(key).append('=').append(lines[0]).append('\n');
        for (int i = 1; i < lines.length; i++) {
            sb.append(' ').append(lines[i]).append('\n');
        }
    }
}
