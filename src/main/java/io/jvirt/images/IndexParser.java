package io.jvirt.images;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads virt-builder's index format: {@code [id]} sections of {@code key=value} lines, where a key may carry a
 * subkey ({@code checksum[sha512]}), a line starting with a space continues the previous value on a new line
 * (a lone space is an empty line), and lines starting with {@code #} are comments. Strict: duplicate ids, duplicate
 * keys, text outside a section, or numbers that are not numbers are errors, because an index is a security boundary.
 */
public final class IndexParser {
    private static final Pattern SECTION = Pattern.compile("\\[([A-Za-z0-9][A-Za-z0-9._+-]*)\\]");
    private static final Pattern FIELD = Pattern.compile("([A-Za-z0-9_.-]+(?:\\[[A-Za-z0-9_.,-]+\\])?)=(.*)");

    private IndexParser() {
    }

    public static TemplateIndex parse(String text) {
        List<IndexEntry> entries = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        String id = null;
        int sectionLine = 0;
        Map<String, String> fields = null;
        String lastKey = null;
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int no = i + 1;
            if (line.startsWith("#")) {
                continue;
            }
            if (line.startsWith(" ")) {
                if (lastKey == null) {
                    throw new IndexFormatException(no, "continuation line without a field before it");
                }
                fields.put(lastKey, fields.get(lastKey) + "\n" + line.substring(1));
                continue;
            }
            if (line.isEmpty()) {
                // OpenPGP clear-signing does not cover trailing whitespace and gpg drops it from the verified text,
                // so a lone-space continuation line comes back empty: an empty line followed by more continuation
                // lines is still part of the value.
                int next = i + 1;
                while (next < lines.length && lines[next].isEmpty()) {
                    next++;
                }
                if (lastKey != null && next < lines.length && lines[next].startsWith(" ")) {
                    fields.put(lastKey, fields.get(lastKey) + "\n");
                } else {
                    lastKey = null;
                }
                continue;
            }
            lastKey = null;
            var section = SECTION.matcher(line);
            if (section.matches()) {
                if (id != null) {
                    entries.add(toEntry(id, fields, sectionLine));
                }
                id = section.group(1);
                if (!ids.add(id)) {
                    throw new IndexFormatException(no, "template [" + id + "] appears twice");
                }
                sectionLine = no;
                fields = new LinkedHashMap<>();
                continue;
            }
            var field = FIELD.matcher(line);
            if (!field.matches()) {
                throw new IndexFormatException(no, "expected [id], key=value, a continuation or a comment, got '"
                        + abbreviate(line) + "'");
            }
            if (id == null) {
                throw new IndexFormatException(no, "field before the first [id] section");
            }
            String key = field.group(1);
            if (fields.containsKey(key)) {
                throw new IndexFormatException(no, "field '" + key + "' appears twice in [" + id + "]");
            }
            fields.put(key, field.group(2));
            lastKey = key;
        }
        if (id != null) {
            entries.add(toEntry(id, fields, sectionLine));
        }
        return new TemplateIndex(entries);
    }

    private static IndexEntry toEntry(String id, Map<String, String> f, int line) {
        Map<String, String> extra = new LinkedHashMap<>(f);
        for (String k : IndexWriter.KNOWN_KEYS) {
            extra.remove(k);
        }
        String file = f.get("file");
        if (file == null || file.isEmpty()) {
            throw new IndexFormatException(line, "[" + id + "] has no file=");
        }
        String hidden = f.getOrDefault("hidden", "false");
        if (!hidden.equals("true") && !hidden.equals("false")) {
            throw new IndexFormatException(line, "[" + id + "] hidden= must be true or false, got '" + hidden + "'");
        }
        String aliases = f.get("aliases");
        List<String> aliasList = aliases == null || aliases.isBlank() ? List.of()
                : Arrays.stream(aliases.trim().split("\\s+")).toList();
        String checksum = f.get("checksum[sha512]");
        if (checksum == null) {
            checksum = f.get("checksum"); // virt-builder reads a bare checksum= as sha512 too
            extra.remove("checksum");
        }
        if (checksum != null && !checksum.matches("[0-9a-fA-F]{128}")) {
            throw new IndexFormatException(line, "[" + id + "] checksum[sha512] is not 128 hex digits");
        }
        return new IndexEntry(id, f.get("name"), f.get("osinfo"), f.get("arch"), file, f.get("revision"),
                checksum == null ? null : checksum.toLowerCase(java.util.Locale.ROOT), f.get("format"),
                number(f, "size", id, line), number(f, "compressed_size", id, line), f.get("expand"), f.get("notes"),
                hidden.equals("true"), aliasList, extra);
    }

    private static Long number(Map<String, String> f, String key, String id, int line) {
        String v = f.get(key);
        if (v == null) {
            return null;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IndexFormatException(line, "[" + id + "] " + key + "= must be a number of bytes, got '" + v + "'");
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
