package io.jvirt.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Files and directories created with an explicit mode, never with whatever the process umask leaves.
 *
 * <p>The mode is given to {@code open(2)}/{@code mkdir(2)} itself (a {@link FileAttribute}), so there is no moment
 * when the new file exists with a wider mode than asked for. The kernel still removes the umask's bits from that
 * mode, so a follow-up {@code chmod} adds back what the umask took (e.g. the group's write bit of 0660 under umask
 * 022): that only ever widens towards the requested mode, never past it. An existing file is narrowed to the mode
 * <em>before</em> anything is written to it. Octal modes ({@code 0600}) because that is how the docs and
 * {@code stat} speak.
 *
 * <p>Neutral like {@code io.jvirt.error}: knows only the JDK, so every layer may use it.
 */
public final class FileModes {
    /** State directory, a VM's run directory, the ledger's directory. */
    public static final int PRIVATE_DIR = 0700;
    /** Documents, console and QEMU logs, staged uploads, private keys. */
    public static final int PRIVATE_FILE = 0600;
    /** Bundles: readable by the daemon's group. */
    public static final int GROUP_READABLE_FILE = 0640;
    /** Certificates: public by nature. */
    public static final int PUBLIC_FILE = 0644;

    private FileModes() {
    }

    /** The permission set of an octal mode such as {@code 0640} (only the 9 permission bits). */
    public static Set<PosixFilePermission> permissions(int mode) {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("only permission bits (0-0777) are supported, got 0" + Integer.toOctalString(mode));
        }
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE};
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(order[i]);
            }
        }
        return set;
    }

    /** The permission bits of a file (symbolic links are not followed), e.g. {@code 0600}. */
    public static int modeOf(Path p) throws IOException {
        Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return ((Integer) mode) & 0777;
    }

    /** "0600" for 0600: how messages and docs show a mode. */
    public static String octal(int mode) {
        return String.format("0%03o", mode & 0777);
    }

    /**
     * Creates {@code dir} (and missing parents) with {@code mode}; an existing {@code dir} is set to {@code mode}.
     * Missing parents get the same mode, so no parent is ever more open than the directory itself.
     */
    public static Path createDirectories(Path dir, int mode) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            setMode(abs, mode);
            return abs;
        }
        Path parent = abs.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            createDirectories(parent, mode);
        }
        try {
            Files.createDirectory(abs, attribute(mode));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(abs)) {
                throw e;
            }
        }
        setMode(abs, mode);
        return abs;
    }

    /** Creates a new file with {@code mode}; fails if it exists (no following of a planted link). */
    public static Path createFile(Path file, int mode) throws IOException {
        Files.createFile(file, attribute(mode));
        setMode(file, mode);
        return file;
    }

    /**
     * Writes {@code content} to {@code file} (created, or replaced in place) with {@code mode}. An existing file is
     * narrowed to {@code mode} first, so bytes never land in a file that is more open than asked for.
     */
    public static void write(Path file, byte[] content, int mode) throws IOException {
        try (FileChannel ch = open(file, mode, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    /**
     * Opens {@code file} for writing ({@code options}, e.g. APPEND), creating it with {@code mode} if absent and
     * narrowing an existing one to {@code mode} before it is opened. For logs the daemon appends to.
     */
    public static FileChannel open(Path file, int mode, OpenOption... options) throws IOException {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.isSymbolicLink(file)) {
                throw new IOException(file + " is a symbolic link; refusing to write through it");
            }
            setMode(file, mode);
        } else {
            try {
                createFile(file, mode);
            } catch (FileAlreadyExistsException raced) {
                setMode(file, mode);
            }
        }
        Set<OpenOption> opts = new java.util.HashSet<>(Set.of(options));
        opts.add(LinkOption.NOFOLLOW_LINKS);
        return FileChannel.open(file, opts);
    }

    /** {@code chmod}: sets exactly these permission bits. */
    public static void setMode(Path p, int mode) throws IOException {
        Files.setPosixFilePermissions(p, permissions(mode));
    }

    private static FileAttribute<Set<PosixFilePermission>> attribute(int mode) {
        return PosixFilePermissions.asFileAttribute(permissions(mode));
    }
}
