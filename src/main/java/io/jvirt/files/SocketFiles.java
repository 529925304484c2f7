package io.jvirt.files;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/**
 * Unix sockets that are never reachable with the wrong mode, not even for an instant.
 *
 * <p>{@code bind(2)} creates the socket file with {@code 0777 & ~umask}, and the JDK can neither pass a mode to
 * bind nor set the umask (a process-wide setting that would also race with every other thread creating files).
 * So the socket is bound inside a fresh 0700 staging directory beside its final path ({@link #stage}); only root
 * can reach it there. Its mode and group are then set, and it is renamed onto the final path ({@link #publish}):
 * {@code rename(2)} is atomic, so the final path either does not exist yet or is the socket with its final mode.
 * A renamed socket keeps accepting: {@code connect(2)} finds the socket through the inode, not the name it was
 * bound to.
 */
public final class SocketFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private SocketFiles() {
    }

    /**
     * Makes a 0700 staging directory beside {@code target} (same filesystem, so the later rename is atomic) and
     * returns the path to bind the socket to. The staging name is short: a socket path must stay under 108 bytes.
     */
    public static Path stage(Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        for (int attempt = 0; ; attempt++) {
            Path dir = parent.resolve(".s" + Integer.toHexString(RANDOM.nextInt(0x10000)));
            try {
                // mkdir(2) with 0700 (the umask can only narrow it): atomic, fails if the name is taken
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(FileModes.permissions(FileModes.PRIVATE_DIR)));
                return dir.resolve(target.getFileName());
            } catch (FileAlreadyExistsException e) {
                if (attempt > 20) {
                    throw e;
                }
            }
        }
    }

    /**
     * Gives the socket bound at {@code staged} its {@code mode} and (if not null) {@code group}, then renames it
     * onto {@code target} (replacing a stale socket file there) and removes the staging directory.
     */
    public static void publish(Path staged, Path target, int mode, String group) throws IOException {
        FileModes.setMode(staged, mode);
        if (group != null) {
            PosixFileAttributeView view = Files.getFileAttributeView(staged, PosixFileAttributeView.class);
            GroupPrincipal g = staged.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
            view.setGroup(g);
        }
        try {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot publish socket " + target + ": staging directory on another filesystem", e);
        }
        Files.deleteIfExists(staged.getParent());
    }

    /** Removes a staging directory left behind (a failed start); the socket in it, if any, goes with it. */
    public static void discard(Path staged) {
        try {
            Files.deleteIfExists(staged);
            Files.deleteIfExists(staged.getParent());
        } catch (IOException ignored) {
            // nothing to give back: the directory is private and named at random
        }
    }
}
