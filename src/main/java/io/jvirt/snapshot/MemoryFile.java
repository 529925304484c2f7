package io.jvirt.snapshot;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.MigrationStatus;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.QemuMigration;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A guest's RAM and device state as a file, through QEMU's migration over a Unix socket that jvirt owns: QEMU 7.2
 * has no {@code file:} migration URI, jvirt's QMP client cannot pass file descriptors, and {@code exec:} would be a
 * shell string. Saving: jvirt listens, QEMU migrates to {@code unix:SOCK}, and jvirt writes what arrives to the
 * file. Loading: QEMU (started with {@code -incoming defer}) listens on {@code unix:SOCK}, jvirt connects and sends
 * the file. Both wait for QEMU's MIGRATION event ({@link QemuMigration}), never poll.
 */
final class MemoryFile {
    /** QEMU 7.2 limits migration to 32 MiB/s by default; a local file has no link to spare. */
    private static final long UNLIMITED_BYTES_PER_SECOND = 1L << 40;

    private MemoryFile() {
    }

    /**
     * Saves the (paused) guest's state as {@code mem}: written as {@code mem.part}, fsynced, then renamed (and the
     * rename made durable), so a file with the final name is always a whole stream.
     */
    static void saveComplete(Monitor monitor, Path socket, Path mem, Duration timeout,
                             java.util.function.Consumer<Path> grantSocket) {
        Path part = Path.of(mem + ".part");
        save(monitor, socket, part, timeout, grantSocket);
        Fault.point("snapshot", "after-memory");
        try {
            Files.move(part, mem, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel dir = FileChannel.open(mem.getParent())) {
                dir.force(true); // the rename is what says "complete"; make it durable
            }
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "cannot store the memory file " + mem + ": " + e.getMessage());
        }
    }

    /** Saves the state of the (paused) guest into {@code file}, written completely and fsynced; returns its size. */
    /** {@code grantSocket}: an unprivileged QEMU must be let connect to the socket jvirt listens on. */
    private static long save(Monitor monitor, Path socket, Path file, Duration timeout,
                             java.util.function.Consumer<Path> grantSocket) {
        return overSocket(socket, "saving the guest's memory to " + file, file, () -> {
            Files.deleteIfExists(socket);
            CompletableFuture<Long> copied = new CompletableFuture<>();
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                 FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                         StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                 QemuMigration migration = QemuMigration.follow(monitor)) {
                server.bind(UnixDomainSocketAddress.of(socket));
                grantSocket.accept(socket);
                Thread.ofVirtual().name("migration-save").start(() -> {
                    try (SocketChannel in = server.accept()) {
                        copied.complete(pump(in, out));
                    } catch (Throwable t) {
                        copied.completeExceptionally(t);
                    }
                });
                migration.prepare(UNLIMITED_BYTES_PER_SECOND);
                monitor.migration().migrate("unix:" + socket);
                requireCompleted(migration, migration.awaitEnd(timeout), "saving", file);
                long size = copied.get(timeout.toMillis(), TimeUnit.MILLISECONDS); // QEMU closes the stream after completing
                out.force(true);
                return size;
            }
        });
    }

    /** Feeds {@code file} to a QEMU started with {@code -incoming defer} and waits until it has loaded it. */
    static void load(Monitor monitor, Path socket, Path file, Duration timeout) {
        overSocket(socket, "loading the guest's memory from " + file, file, () -> {
            try (QemuMigration migration = QemuMigration.follow(monitor);
                 FileChannel in = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(socket);
                migration.prepare(UNLIMITED_BYTES_PER_SECOND);
                monitor.migration().migrateIncoming("unix:" + socket); // QEMU listens when this returns
                try (SocketChannel out = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    long at = 0;
                    long size = in.size();
                    while (at < size) {
                        at += in.transferTo(at, size - at, out);
                    }
                    out.shutdownOutput();
                    requireCompleted(migration, migration.awaitEnd(timeout), "loading", file);
                }
                return null;
            }
        });
    }

    private static void requireCompleted(QemuMigration migration, MigrationStatus status, String doing, Path file) {
        if (status != MigrationStatus.COMPLETED) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, doing + " the guest's memory " + status.wire() + ": "
                    + migration.error(), Map.of("file", file.toString()));
        }
    }

    /** Runs a transfer over {@code socket}: failures say what was being done, and the socket is gone afterwards. */
    private static <T> T overSocket(Path socket, String what, Path file, Callable<T> transfer) {
        try {
            return transfer.call();
        } catch (JvirtException e) {
            throw e;
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, what + " failed: " + e, Map.of("file", file.toString()), e);
        } finally {
            deleteQuietly(socket); // QEMU removes it too; a stale one would be replaced next time
        }
    }

    private static void deleteQuietly(Path socket) {
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // harmless
        }
    }

    private static long pump(SocketChannel in, FileChannel out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long total = 0;
        while (in.read(buf) >= 0) {
            buf.flip();
            while (buf.hasRemaining()) {
                total += out.write(buf);
            }
            buf.clear();
        }
        return total;
    }
}
