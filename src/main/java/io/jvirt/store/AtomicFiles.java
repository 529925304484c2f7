package io.jvirt.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;

/**
 * Durable file replacement: write a temporary file beside the target, fsync it, rename it over the target
 * and fsync the directory. After a crash at any instant the target holds either the old or the new bytes,
 * never a mix, and once the call returns the new bytes survive a power cut. Directories it has to make are made
 * durable too (each new one fsynced in its parent), and everything is created private (files 0600, directories
 * 0700) from the first instant: documents hold console history and secrets, never readable through a umask.
 */
public final class AtomicFiles {
    /** Temporary files are named {@code .<target>.tmp}; a crash may leave one, {@link #isTemporary} finds it. */
    static final String TMP_SUFFIX = ".tmp";
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private AtomicFiles() {
    }

    public static void write(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        createDirectories(dir);
        Path tmp = dir.resolve("." + target.getFileName() + TMP_SUFFIX);
        Files.deleteIfExists(tmp); // a leftover keeps its old mode; a fresh one is created private
        try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PRIVATE_FILE)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory(dir);
    }

    /**
     * Creates a directory and its missing parents, each 0700, and fsyncs the parent of each one it made: a new
     * VM's directory must survive a power cut once its definition write returned.
     */
    public static void createDirectories(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        Deque<Path> missing = new ArrayDeque<>();
        for (Path p = abs; p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.push(p);
        }
        while (!missing.isEmpty()) {
            Path p = missing.pop();
            try {
                Files.createDirectory(p, PRIVATE_DIR);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (!Files.isDirectory(p)) {
                    throw e;
                }
                continue; // made by someone else meanwhile
            }
            syncDirectory(p.getParent());
        }
    }

    static boolean isTemporary(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(".") && name.endsWith(TMP_SUFFIX);
    }

    /** Moves a file into another directory durably (both directories fsynced), e.g. into quarantine. */
    public static void moveDurably(Path file, Path target) throws IOException {
        createDirectories(target.toAbsolutePath().getParent());
        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(target.toAbsolutePath().getParent());
        syncDirectory(file.toAbsolutePath().getParent());
    }

    /** Deletes a file and makes the deletion durable. Returns false when there was nothing to delete. */
    public static boolean delete(Path target) throws IOException {
        boolean deleted = Files.deleteIfExists(target);
        if (deleted) {
            syncDirectory(target.toAbsolutePath().getParent());
        }
        return deleted;
    }

    /** fsync on a directory makes renames and unlinks inside it durable (Linux allows opening a directory read-only). */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (NoSuchFileException e) {
            // the directory itself went away: nothing left to make durable in it
        }
    }
}
