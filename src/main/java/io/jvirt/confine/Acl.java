package io.jvirt.confine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * POSIX ACLs through {@code getfacl}/{@code setfacl} (package {@code acl}): the JDK has no view of them on Linux.
 * Every call covers many files at once (one process per step, not per file), with numeric ids.
 */
final class Acl {
    /** A file's owner, group, permission bits, ACL entries ({@code user::rw-}, {@code user:998:r--}, ...) and inode. */
    record State(int uid, int gid, int mode, List<String> entries, String fileKey) {
        /** The permissions of the named-user entry for {@code uid}, or null. */
        String entryFor(int user) {
            String prefix = "user:" + user + ":";
            return entries.stream().filter(e -> e.startsWith(prefix)).map(e -> e.substring(prefix.length())).findFirst().orElse(null);
        }

        /** More than the three base entries (named users or groups, a mask). */
        boolean extended() {
            return isExtended(entries);
        }

        /** Whether the mask is what setfacl computed (the union of the group class), i.e. nobody chmod-ed it. */
        boolean maskAsComputed() {
            String mask = mask();
            return mask == null || mask.equals(groupClass());
        }

        /** Base entries plus a mask only: what {@code setfacl -x} leaves of a file that had no ACL before. */
        boolean onlyMaskLeft() {
            return entries.size() == 4 && entries.stream().anyMatch(e -> e.startsWith("mask::"));
        }

        /**
         * Whether the ACL's mask hides permissions of its own entries. Adding an entry recomputes the mask, which
         * would quietly give those entries back what the admin masked away, so such files are not labelled.
         */
        boolean maskRestricts() {
            String mask = mask();
            return mask != null && !Grant.union(mask, groupClass()).equals(mask);
        }

        private String mask() {
            return entries.stream().filter(e -> e.startsWith("mask::")).map(e -> e.substring(6)).findFirst().orElse(null);
        }

        /** The union of the group entry and every named entry: what a recomputed mask is. */
        private String groupClass() {
            String union = "---";
            for (String e : entries) {
                if (e.startsWith("group:") || (e.startsWith("user:") && !e.startsWith("user::"))) {
                    union = Grant.union(union, e.substring(e.lastIndexOf(':') + 1));
                }
            }
            return union;
        }

        String describe() {
            return "owner " + uid + ":" + gid + " mode " + String.format("0%03o", mode) + " acl " + String.join(",", entries);
        }
    }

    private final long timeoutSeconds;

    static boolean isExtended(List<String> entries) {
        return entries.size() > 3;
    }

    Acl(long timeoutSeconds) {
        this.timeoutSeconds = timeoutSeconds;
    }

    /** The state of each file (files that do not exist are left out). */
    Map<Path, State> read(Collection<Path> paths) {
        List<Path> present = paths.stream().filter(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS)).distinct().toList();
        Map<Path, State> out = new LinkedHashMap<>();
        if (present.isEmpty()) {
            return out;
        }
        List<String> cmd = new ArrayList<>(List.of("getfacl", "--absolute-names", "--numeric", "--"));
        present.forEach(p -> cmd.add(p.toString()));
        Tool.Result r = Tool.run(cmd, timeoutSeconds);
        if (!r.ok()) {
            throw new LabelException("cannot read the ACLs of " + present + ": " + r.describe());
        }
        Map<Path, List<String>> entries = parse(r.stdout());
        for (Path p : present) {
            List<String> e = entries.get(p);
            if (e == null) {
                throw new LabelException("getfacl printed nothing for " + p);
            }
            out.put(p, stat(p, e));
        }
        return out;
    }

    /** Sets the named-user entry of {@code uid} on each file (one setfacl for all; the mask is recomputed). */
    void set(int uid, Map<Path, String> perms) {
        if (perms.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("setfacl"));
        Map<String, List<Path>> byPerms = new LinkedHashMap<>();
        perms.forEach((p, s) -> byPerms.computeIfAbsent(s, k -> new ArrayList<>()).add(p));
        byPerms.forEach((s, files) -> {
            cmd.add("-m");
            cmd.add("u:" + uid + ":" + s);
            files.forEach(f -> cmd.add(f.toString()));
        });
        check(Tool.run(cmd, timeoutSeconds), "grant access to " + perms.keySet());
    }

    /**
     * Removes the named-user entry of {@code uid} (absent entries are fine). {@code keepMask}: leave the mask as
     * it is ({@code -n}) instead of recomputing it, for files whose group bits someone chmod-ed meanwhile (on a
     * file with an ACL, chmod sets the mask): recomputing would undo their chmod.
     */
    void remove(int uid, Collection<Path> paths, boolean keepMask) {
        run(keepMask ? List.of("setfacl", "-n", "-x", "u:" + uid) : List.of("setfacl", "-x", "u:" + uid),
                paths, "take back access to");
    }

    /** Drops every extended entry: only for files whose ACL is down to its base entries and a mask. */
    void strip(Collection<Path> paths) {
        run(List.of("setfacl", "-b"), paths, "tidy the ACL of");
    }

    private void run(List<String> base, Collection<Path> paths, String what) {
        if (paths.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>(base);
        paths.forEach(p -> cmd.add(p.toString()));
        check(Tool.run(cmd, timeoutSeconds), what + " " + paths);
    }

    private static void check(Tool.Result r, String what) {
        if (!r.ok()) {
            throw new LabelException("cannot " + what + ": " + r.describe()
                    + (r.stderr().contains("Operation not supported") ? " (the filesystem has no POSIX ACLs)" : ""));
        }
    }

    private static State stat(Path p, List<String> entries) {
        try {
            Map<String, Object> a = Files.readAttributes(p, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
            Object key = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            return new State((Integer) a.get("uid"), (Integer) a.get("gid"), ((Integer) a.get("mode")) & 07777,
                    List.copyOf(entries), String.valueOf(key));
        } catch (IOException e) {
            throw new LabelException("cannot stat " + p + ": " + e.getMessage(), e);
        }
    }

    /** getfacl's output: "# file: NAME" (octal escapes), comments, entries ("user:998:rw-\t#effective:r--"). */
    static Map<Path, List<String>> parse(String out) {
        Map<Path, List<String>> result = new LinkedHashMap<>();
        List<String> current = null;
        for (String line : out.split("\n")) {
            if (line.startsWith("# file: ")) {
                current = new ArrayList<>();
                result.put(Path.of(unescape(line.substring("# file: ".length()))), current);
            } else if (current != null && !line.isBlank() && !line.startsWith("#")) {
                int cut = line.indexOf('#');
                current.add((cut >= 0 ? line.substring(0, cut) : line).strip());
            }
        }
        return result;
    }

    /** getfacl writes unusual bytes of a name as {@code \ooo} (octal) and a backslash as {@code \\}. */
    private static String unescape(String s) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        byte[] raw = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '\\' && i + 3 < raw.length && isOctal(raw[i + 1]) && isOctal(raw[i + 2]) && isOctal(raw[i + 3])) {
                b.write((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
                i += 3;
            } else if (raw[i] == '\\' && i + 1 < raw.length && raw[i + 1] == '\\') {
                b.write('\\');
                i++;
            } else {
                b.write(raw[i]);
            }
        }
        return b.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static boolean isOctal(byte c) {
        return c >= '0' && c <= '7';
    }

}
