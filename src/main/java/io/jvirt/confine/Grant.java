package io.jvirt.confine;

import java.nio.file.Path;

/** One file or directory QEMU's user may use, and how ({@code rw-}, {@code r--}, {@code --x}...). */
public record Grant(Path path, Access access) {
    /** What QEMU's user gets, as a POSIX ACL entry's permissions. */
    public enum Access {
        /** A read-only layer, a kernel, an initrd. */
        READ("r--"),
        /** A writable disk, a console log. */
        WRITE("rw-"),
        /** A directory on the way to a granted file: search only, no listing. */
        TRAVERSE("--x"),
        /** A directory QEMU creates files in (its run directory: sockets, pid file). */
        WRITE_DIR("rwx");

        private final String perms;

        Access(String perms) {
            this.perms = perms;
        }

        public String perms() {
            return perms;
        }
    }

    /** The union of two permission strings: {@code r--} + {@code --x} = {@code r-x}. */
    static String union(String a, String b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        char[] out = new char[3];
        String letters = "rwx";
        for (int i = 0; i < 3; i++) {
            out[i] = a.charAt(i) != '-' || b.charAt(i) != '-' ? letters.charAt(i) : '-';
        }
        return new String(out);
    }
}
