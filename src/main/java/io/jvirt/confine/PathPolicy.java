package io.jvirt.confine;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which files a VM's QEMU may be given: disks, backing layers, kernels and initrds must lie, after every symbolic
 * link is resolved ({@code toRealPath}), inside a storage pool or a directory the admin allowed
 * ({@code --allow-dir}), and outside the places no VM has any business in. Each refusal names its rule.
 *
 * <p>Rules, in the order they are checked:
 * <ol>
 * <li>{@code system-directory}: inside {@link #SYSTEM_DIRS} ({@code /etc}, {@code /proc}, {@code /dev}, ...):
 *     never, not even through an allowed directory. A block device is usable only when the admin allowed that
 *     very device ({@code allowDevice}).</li>
 * <li>{@code state-directory}: inside the daemon's state or run directory, except its pools (the default pool
 *     lives in {@code STATE/pools/default}).</li>
 * <li>{@code private-directory}: inside {@link #PRIVATE_DIRS} ({@code /root}), unless an allowed directory or
 *     pool the admin put there explicitly covers it.</li>
 * <li>{@code outside-pools}: not inside any pool or allowed directory.</li>
 * <li>{@code not-a-file}: not a regular file (a directory, FIFO, socket or character device).</li>
 * <li>{@code hard-link}: a regular file with more than one name: another name of it may be a file nobody checked
 *     (e.g. {@code /etc/shadow} hard-linked into a pool), and no real path can tell.</li>
 * </ol>
 * Pools and allowed directories themselves are checked by {@link #checkRoot}: never a system directory, inside
 * one, or a directory that contains one or the state directory.
 */
public final class PathPolicy {
    /** Directories of the operating system: nothing in them is ever a VM's file. */
    public static final List<Path> SYSTEM_DIRS = paths("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64",
            "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr", "/var/log", "/var/spool", "/var/mail", "/var/lib/dpkg",
            "/var/lib/apt", "/var/lib/systemd", "/var/cache");
    /** Private by default; usable only below a pool or allowed directory explicitly placed there. */
    public static final List<Path> PRIVATE_DIRS = paths("/root");

    private final Map<String, Path> pools;
    /** Changed at run time by the admin API ({@link #addAllowedDir}); copy-on-write, so checks never lock. */
    private final java.util.concurrent.CopyOnWriteArrayList<Path> allowedDirs;
    private final List<Path> allowedDevices;
    private final List<Path> stateDirs;
    private final List<Path> systemDirs;
    private final List<Path> privateDirs = withRealPaths(PRIVATE_DIRS);

    private PathPolicy(Builder b) {
        this.pools = Map.copyOf(b.pools);
        this.allowedDirs = new java.util.concurrent.CopyOnWriteArrayList<>(b.allowedDirs);
        this.allowedDevices = List.copyOf(b.allowedDevices);
        this.stateDirs = List.copyOf(b.stateDirs);
        this.systemDirs = withRealPaths(b.systemDirs);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** What the daemon knows: its state and run directories, its pools, the admin's allowed directories. */
    public static final class Builder {
        private final Map<String, Path> pools = new LinkedHashMap<>();
        private final List<Path> allowedDirs = new ArrayList<>();
        private final List<Path> allowedDevices = new ArrayList<>();
        private final List<Path> stateDirs = new ArrayList<>();
        private List<Path> systemDirs = SYSTEM_DIRS;

        /** The state directory (documents, ledger) or the run directory (sockets): refused outside their pools. */
        public Builder stateDir(Path dir) {
            stateDirs.add(real(dir));
            return this;
        }

        public Builder pool(String name, Path dir) {
            pools.put(name, real(dir));
            return this;
        }

        public Builder allowDir(Path dir) {
            allowedDirs.add(real(dir));
            return this;
        }

        /** One block device (e.g. an LVM volume), allowed by its real path (/dev/vg/lv is /dev/dm-N). */
        public Builder allowDevice(Path device) {
            allowedDevices.add(real(device));
            return this;
        }

        /** Replaces {@link #SYSTEM_DIRS} (tests of the rules themselves). */
        public Builder systemDirs(List<Path> dirs) {
            systemDirs = List.copyOf(dirs);
            return this;
        }

        /** Builds the policy after checking every pool and allowed directory with {@link #checkRoot}. */
        public PathPolicy build() {
            PathPolicy p = new PathPolicy(this);
            p.pools.forEach((name, dir) -> p.checkRoot("pool '" + name + "'", dir));
            // an allowed directory may hold the state directory (a test's temp root, /srv holding /srv/jvirt):
            // checkFile refuses every file of the state directory before it looks at the allowed directories
            p.allowedDirs.forEach(dir -> p.checkRoot("allowed directory", dir, true));
            return p;
        }
    }

    /**
     * Checks a file QEMU would open; returns its real path (what to pass to QEMU, so a symbolic link swapped
     * after the check changes nothing). {@code field} names it in the error, e.g. {@code disks[0].path}.
     */
    public Path checkFile(String field, Path path) {
        Path real;
        try {
            real = path.toRealPath();
        } catch (NoSuchFileException e) {
            throw new JvirtException(ErrorCode.DISK_NOT_FOUND, field + ": no such file " + path, Map.of("path", path.toString()));
        } catch (IOException e) {
            throw refused(field, path, "not-a-file", "cannot be resolved (" + e.getMessage() + ")");
        }
        boolean device = isBlockDevice(real);
        if (device && allowedDevices.contains(real)) {
            return real;
        }
        checkPlace(field, path, real, device);
        if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            throw refused(field, path, "not-a-file", describe(path, real) + " is not a regular file");
        }
        if (linkCount(real) > 1) {
            throw refused(field, path, "hard-link", describe(path, real) + " has " + linkCount(real) + " names (hard"
                    + " links); another of them may be a file no one checked: copy it instead");
        }
        return real;
    }

    /**
     * Checks a file jvirt is about to create for QEMU (a block-copy destination) before anything is created: its
     * directory must exist and lie where a disk may (a pool or an allowed directory; never a system, private or
     * state directory). Returns the real path it will have; an existing file is checked as {@link #checkFile}.
     */
    public Path checkNewFile(String field, Path path) {
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null || path.getFileName() == null) {
            throw refused(field, path, "not-a-file", path + " names no file");
        }
        Path realParent;
        try {
            realParent = parent.toRealPath();
        } catch (IOException e) {
            throw refused(field, path, "not-a-directory", "the directory " + parent + " does not exist");
        }
        Path real = realParent.resolve(path.getFileName().toString());
        if (Files.exists(real, LinkOption.NOFOLLOW_LINKS)) {
            return checkFile(field, real);
        }
        checkPlace(field, path, real, false);
        return real;
    }

    /** The rules on where a file lies: system, state, private directories; inside a pool or an allowed directory. */
    private void checkPlace(String field, Path path, Path real, boolean device) {
        Path system = firstContaining(systemDirs, real);
        if (system != null) {
            throw refused(field, path, "system-directory", describe(path, real) + " is inside " + system
                    + ", a system directory no VM may use" + (device ? " (a block device must be allowed one by one)" : ""));
        }
        Path root = coveringRoot(real);
        Path state = firstContaining(stateDirs, real);
        if (state != null && (root == null || !root.startsWith(state.resolve("pools")))) {
            throw refused(field, path, "state-directory", describe(path, real) + " is inside jvirt's own directory "
                    + state + " (only its pools hold VM files)");
        }
        Path priv = firstContaining(privateDirs, real);
        if (priv != null && (root == null || !root.startsWith(priv))) {
            throw refused(field, path, "private-directory", describe(path, real) + " is inside " + priv
                    + ", which is private unless a pool or --allow-dir names a directory in it");
        }
        if (root == null) {
            throw refused(field, path, "outside-pools", describe(path, real) + " is in no storage pool and no allowed"
                    + " directory (pools: " + pools.values() + ", allowed: " + allowedDirs + "; add one with --allow-dir)");
        }
    }

    /**
     * Checks a directory that is to become a pool or an allowed directory: an existing directory, not {@code /},
     * not a system directory or inside one, not containing a system directory or the state directory, and inside
     * the state directory only below its {@code pools}. Returns its real path.
     */
    public Path checkRoot(String what, Path dir) {
        return checkRoot(what, dir, false);
    }

    private Path checkRoot(String what, Path dir, boolean mayHoldState) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            throw refused(what, dir, "not-a-directory", dir + " does not exist");
        }
        if (!Files.isDirectory(real)) {
            throw refused(what, dir, "not-a-directory", describe(dir, real) + " is not a directory");
        }
        if (real.getParent() == null) {
            throw refused(what, dir, "system-directory", "the root directory cannot hold VM files");
        }
        Path system = firstContaining(systemDirs, real);
        if (system != null) {
            throw refused(what, dir, "system-directory", describe(dir, real) + " is inside " + system + ", a system directory");
        }
        for (Path s : systemDirs) {
            if (s.startsWith(real)) {
                throw refused(what, dir, "system-directory", describe(dir, real) + " contains the system directory " + s);
            }
        }
        for (Path s : stateDirs) {
            if (s.startsWith(real) && !mayHoldState) {
                throw refused(what, dir, "state-directory", describe(dir, real) + " contains jvirt's own directory " + s);
            }
            if (real.startsWith(s) && !real.startsWith(s.resolve("pools"))) {
                throw refused(what, dir, "state-directory", describe(dir, real) + " is inside jvirt's own directory "
                        + s + " (only " + s.resolve("pools") + " may hold pools)");
            }
        }
        return real;
    }

    /**
     * Allows a directory at run time ({@code jvirt admin allow-dir add}), after {@link #checkRoot}; returns its real
     * path. Adding one that is already allowed changes nothing. Files already checked are not checked again.
     */
    public Path addAllowedDir(Path dir) {
        Path real = checkRoot("allowed directory", dir);
        allowedDirs.addIfAbsent(real);
        return real;
    }

    /**
     * Withdraws an allowed directory (given as allowed or by its real path); true if it was allowed. A VM already
     * running keeps the files it opened; its next start is checked without it.
     */
    public boolean removeAllowedDir(Path dir) {
        Path given = dir.toAbsolutePath().normalize();
        return allowedDirs.remove(given) | allowedDirs.remove(real(dir));
    }

    /** The allowed directories now, by real path. */
    public List<Path> allowedDirs() {
        return List.copyOf(allowedDirs);
    }

    /** The pool or allowed directory a real path lies in, or null. */
    private Path coveringRoot(Path real) {
        for (Path p : pools.values()) {
            if (real.startsWith(p)) {
                return p;
            }
        }
        for (Path p : allowedDirs) {
            if (real.startsWith(p)) {
                return p;
            }
        }
        return null;
    }

    private static Path firstContaining(List<Path> dirs, Path real) {
        for (Path d : dirs) {
            if (real.startsWith(d)) {
                return d;
            }
        }
        return null;
    }

    private static String describe(Path given, Path real) {
        return given.equals(real) ? given.toString() : given + " (really " + real + ")";
    }

    private static JvirtException refused(String field, Path path, String rule, String message) {
        return new JvirtException(ErrorCode.PATH_NOT_ALLOWED, field + ": " + message + " [rule " + rule + "]",
                Map.of("path", path.toString(), "rule", rule));
    }

    static boolean isBlockDevice(Path p) {
        try {
            return (((Integer) Files.getAttribute(p, "unix:mode")) & 0170000) == 0060000;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static int linkCount(Path p) {
        try {
            return (Integer) Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | RuntimeException e) {
            return 1;
        }
    }

    /** Each directory as given and, where it exists and differs (/lib on a merged /usr), as its real path too. */
    private static List<Path> withRealPaths(List<Path> dirs) {
        List<Path> out = new ArrayList<>();
        for (Path d : dirs) {
            out.add(d);
            try {
                Path r = d.toRealPath();
                if (!r.equals(d)) {
                    out.add(r);
                }
            } catch (IOException absent) {
                // not on this host
            }
        }
        return List.copyOf(out);
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize(); // checkRoot reports it
        }
    }

    private static List<Path> paths(String... s) {
        return java.util.Arrays.stream(s).map(Path::of).toList();
    }
}
