package io.jvirt.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The daemon's embedded store: JSON documents grouped by owner (one directory per owner, e.g. per VM) and kind
 * (one file per kind, e.g. "definition", "state"). Every write is an atomic, fsynced replacement, so the store
 * survives kill -9 or a power cut at any instant. See docs/design-store.md for why files and not SQLite.
 *
 * <p>Owners and kinds are checked against a strict pattern so that no key can escape the store's directory.
 * The store knows nothing about what the documents mean.
 */
public final class DocumentStore implements AutoCloseable {
    private static final Pattern SAFE_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final String SUFFIX = ".json";

    private final Path root;
    private final ObjectMapper mapper;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final StoreHealth health = new StoreHealth();

    private DocumentStore(Path root, ObjectMapper mapper, FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.mapper = mapper;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens (creating if needed) the store under {@code root} and takes an exclusive lock on it, so that two
     * daemons never manage the same state directory.
     */
    public static DocumentStore open(Path root, ObjectMapper mapper) throws IOException {
        AtomicFiles.createDirectories(root);
        restrict(root);
        FileChannel ch = FileChannel.open(root.resolve("store.lock"), java.util.Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.WRITE), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new StoreLockedException("the store at " + root + " is in use by another jvirtd");
        }
        DocumentStore store = new DocumentStore(root, mapper.copy().enable(SerializationFeature.INDENT_OUTPUT), ch, lock);
        store.removeTemporaryFiles(); // we hold the lock: no writer of ours is half-way, a leftover is a crash's
        return store;
    }

    /**
     * The state dir holds console history and secrets: created 0700, and an existing one is narrowed to 0700 on
     * open. Except its group bits when it carries an extended ACL: where running QEMUs were granted search
     * permission by an ACL entry, the group bits show the ACL's mask, and narrowing them would cut those QEMUs off
     * (docs/security.md); then only what others could do is taken away.
     */
    private static void restrict(Path dir) throws IOException {
        try {
            var perms = Files.getPosixFilePermissions(dir);
            var narrowed = java.util.EnumSet.copyOf(perms);
            narrowed.removeAll(java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OTHERS_READ,
                    java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE,
                    java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE));
            if (!hasExtendedAcl(dir)) {
                narrowed.removeAll(java.util.Set.of(java.nio.file.attribute.PosixFilePermission.GROUP_READ,
                        java.nio.file.attribute.PosixFilePermission.GROUP_WRITE,
                        java.nio.file.attribute.PosixFilePermission.GROUP_EXECUTE));
            }
            if (!narrowed.equals(perms)) {
                Files.setPosixFilePermissions(dir, narrowed);
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to restrict
        }
    }

    /**
     * Whether {@code dir} has ACL entries beyond its mode ({@code getfacl --skip-base} prints nothing otherwise). The
     * JDK has no POSIX ACL view on Linux; without getfacl there can be no grants of ours, so none is assumed.
     */
    private static boolean hasExtendedAcl(Path dir) {
        try {
            Process p = new ProcessBuilder("getfacl", "--skip-base", "--omit-header", "--absolute-names", dir.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            return p.waitFor() == 0 && !out.isBlank();
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true; // keep the group bits: the safe side for running QEMUs
        }
    }

    private void removeTemporaryFiles() throws IOException {
        Path base = root.resolve("owners");
        if (!Files.isDirectory(base)) {
            return;
        }
        try (DirectoryStream<Path> owners = Files.newDirectoryStream(base)) {
            for (Path d : owners) {
                if (!Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                boolean removed = false;
                try (DirectoryStream<Path> files = Files.newDirectoryStream(d)) {
                    for (Path f : files) {
                        if (AtomicFiles.isTemporary(f) && Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                            Files.delete(f);
                            removed = true;
                        }
                    }
                }
                if (removed) {
                    AtomicFiles.syncDirectory(d);
                }
            }
        }
    }

    /**
     * Moves a document that cannot be used (unreadable, unknown fields) out of the way, into
     * {@code quarantine/<owner>/<kind>-<time>.json} with a {@code .reason} file beside it, so the rest of the store
     * loads normally and the document is kept for a person to look at. Returns where it went.
     */
    public Path quarantine(String owner, String kind, String reason) {
        Path file = file(owner, kind);
        String stamp = java.time.Instant.now().toString().replace(':', '-');
        Path target = root.resolve("quarantine").resolve(owner).resolve(kind + "-" + stamp + SUFFIX);
        try {
            AtomicFiles.write(target.resolveSibling(kind + "-" + stamp + ".reason"),
                    (reason + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            AtomicFiles.moveDurably(file, target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot quarantine " + file, e);
        }
    }

    /** What {@link #quarantine} holds: one entry per document moved there, newest last. */
    public List<Quarantined> quarantined() {
        List<Quarantined> out = new ArrayList<>();
        Path base = root.resolve("quarantine");
        if (!Files.isDirectory(base)) {
            return out;
        }
        try (var walk = Files.walk(base, 2)) {
            for (Path f : walk.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList()) {
                Path why = f.resolveSibling(f.getFileName().toString().replaceFirst("\\.json$", ".reason"));
                String reason = Files.isRegularFile(why) ? Files.readString(why).strip() : "";
                out.add(new Quarantined(f.getParent().getFileName().toString(), f, reason));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + base, e);
        }
        return out;
    }

    /** A document moved out of the store: whose it was, where it is now, and why. */
    public record Quarantined(String owner, Path file, String reason) {
    }

    public Path root() {
        return root;
    }

    public void put(String owner, String kind, Object document) {
        Path file = file(owner, kind);
        try {
            io.jvirt.error.Fault.point("store", "write"); // tests: fail-write:<flag> fails writes as a full disk would
            AtomicFiles.write(file, mapper.writeValueAsBytes(document));
        } catch (IOException e) {
            health.writeFailed(owner, kind, e);
            throw new UncheckedIOException("cannot write " + file, e);
        } catch (UncheckedIOException e) {
            health.writeFailed(owner, kind, e.getCause());
            throw new UncheckedIOException("cannot write " + file, e.getCause());
        }
    }

    /**
     * A document read at start: when it cannot be parsed or does not fit {@code type} (unknown fields, wrong
     * types), it is moved to {@link #quarantine} and the answer is empty, so the caller goes on with the rest.
     * {@code onQuarantined} is told where it went and why (the caller logs it).
     */
    public <T> Optional<T> readOrQuarantine(String owner, String kind, Class<T> type,
                                            java.util.function.BiConsumer<Path, String> onQuarantined) {
        String why;
        try {
            return get(owner, kind, type);
        } catch (UncheckedIOException e) {
            why = "unreadable: " + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
        } catch (IllegalArgumentException e) {
            why = "does not fit " + type.getSimpleName() + ": " + e.getMessage();
        }
        why = why.replaceAll("\\s+", " ");
        Path moved = quarantine(owner, kind, why);
        onQuarantined.accept(moved, why);
        return Optional.empty();
    }

    /** Failed writes since the store was opened (a full or read-only disk), for the daemon's reports. */
    /** What GET /v1/host and {@code jvirt admin daemon-info} show of this store: quarantined documents, failed writes. */
    public java.util.Map<String, Object> report() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("quarantined", quarantined().stream().map(q -> java.util.Map.of("owner", q.owner(),
                "file", q.file().toString(), "reason", q.reason())).toList());
        m.putAll(health().view());
        return m;
    }

    public StoreHealth health() {
        return health;
    }

    public Optional<JsonNode> get(String owner, String kind) {
        Path file = file(owner, kind);
        try {
            return Optional.of(mapper.readTree(file.toFile()));
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    public <T> Optional<T> get(String owner, String kind, Class<T> type) {
        return get(owner, kind).map(node -> mapper.convertValue(node, type));
    }

    public void remove(String owner, String kind) {
        try {
            AtomicFiles.delete(file(owner, kind));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + kind + " of " + owner, e);
        }
    }

    /**
     * Removes every document of an owner. The {@code lastKind} document is removed last: it is the commit point
     * (for a VM, its definition), so a crash half-way leaves the owner still present rather than half-gone.
     */
    public void removeOwner(String owner, String lastKind) {
        Path dir = ownerDir(owner);
        try {
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                ds.forEach(files::add);
            } catch (NoSuchFileException e) {
                return;
            }
            Path last = file(owner, lastKind);
            for (Path f : files) {
                if (!f.equals(last) && Files.isRegularFile(f)) {
                    Files.delete(f);
                }
            }
            AtomicFiles.delete(last);
            Files.deleteIfExists(dir);
            AtomicFiles.syncDirectory(root.resolve("owners"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + owner, e);
        }
    }

    /** Owners that have a document of the given kind, sorted. Owners without it (left-overs of a crash) are skipped. */
    public List<String> owners(String kind) {
        TreeMap<String, Path> found = new TreeMap<>();
        Path base = root.resolve("owners");
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(base)) {
            for (Path d : ds) {
                String owner = d.getFileName().toString();
                if (SAFE_KEY.matcher(owner).matches() && Files.isRegularFile(d.resolve(kind + SUFFIX))) {
                    found.put(owner, d);
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + base, e);
        }
        return List.copyOf(found.keySet());
    }

    /** A directory the owner may keep other files in (logs, sockets are elsewhere); removed with the owner. */
    public Path ownerDir(String owner) {
        requireSafe(owner, "owner");
        return root.resolve("owners").resolve(owner);
    }

    private Path file(String owner, String kind) {
        requireSafe(kind, "kind");
        return ownerDir(owner).resolve(kind + SUFFIX);
    }

    private static void requireSafe(String key, String what) {
        if (key == null || !SAFE_KEY.matcher(key).matches() || key.contains("..")) {
            throw new IllegalArgumentException("unsafe store " + what + ": " + key);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            lockChannel.close();
        }
    }
}
