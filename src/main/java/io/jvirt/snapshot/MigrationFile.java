package io.jvirt.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.qmp.QmpClient;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A guest's RAM and device state as a file, through QEMU's migration over a Unix socket that jvirt owns: QEMU 7.2
 * has no {@code file:} migration URI, jvirt's QMP client cannot pass file descriptors, and {@code exec:} would be a
 * shell string. Saving: jvirt listens, {@code migrate unix:SOCK}, and writes what arrives to the file. Loading:
 * QEMU (started with {@code -incoming defer}) listens after {@code migrate-incoming unix:SOCK}, jvirt connects and
 * sends the file. Both wait for QEMU's MIGRATION event (capability {@code events}), never poll.
 */
final class MigrationFile {
    /** QEMU 7.2 limits migration to 32 MiB/s by default; a local file has no link to spare. */
    private static final long UNLIMITED_BYTES_PER_SECOND = 1L << 40;

    private MigrationFile() {
    }

    /** Saves the state of the (paused) guest into {@code file}, written completely and fsynced; returns its size. */
    static long save(QmpClient qmp, Path socket, Path file, Duration timeout) {
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "cannot remove the stale socket " + socket + ": " + e.getMessage());
        }
        CompletableFuture<String> end = new CompletableFuture<>();
        CompletableFuture<Long> copied = new CompletableFuture<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
             AutoCloseable events = qmp.onEvent("MIGRATION", e -> onStatus(e.data(), end))) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread.ofVirtual().name("migration-save").start(() -> {
                try (SocketChannel in = server.accept()) {
                    copied.complete(pump(in, out));
                } catch (Throwable t) {
                    copied.completeExceptionally(t);
                }
            });
            prepare(qmp);
            qmp.execute("migrate", QmpClient.args("uri", "unix:" + socket));
            String status = await(qmp, end, timeout);
            if (!"completed".equals(status)) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, "saving the guest's memory " + status + ": " + errorOf(qmp),
                        Map.of("file", file.toString()));
            }
            long size = copied.get(timeout.toMillis(), TimeUnit.MILLISECONDS); // QEMU closes the stream after completing
            out.force(true);
            return size;
        } catch (JvirtException e) {
            throw e;
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "saving the guest's memory to " + file + " failed: " + e,
                    Map.of("file", file.toString()), e);
        } finally {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // a stale socket is replaced next time
            }
        }
    }

    /** Feeds {@code file} to a QEMU started with {@code -incoming defer} and waits until it has loaded it. */
    static void load(QmpClient qmp, Path socket, Path file, Duration timeout) {
        CompletableFuture<String> end = new CompletableFuture<>();
        try (AutoCloseable events = qmp.onEvent("MIGRATION", e -> onStatus(e.data(), end));
             FileChannel in = FileChannel.open(file, StandardOpenOption.READ, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(socket);
            prepare(qmp);
            qmp.execute("migrate-incoming", QmpClient.args("uri", "unix:" + socket)); // QEMU listens when this returns
            try (SocketChannel out = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                long at = 0;
                long size = in.size();
                while (at < size) {
                    at += in.transferTo(at, size - at, out);
                }
                out.shutdownOutput();
                String status = await(qmp, end, timeout);
                if (!"completed".equals(status)) {
                    throw new JvirtException(ErrorCode.QEMU_FAILED, "loading the guest's memory " + status + ": " + errorOf(qmp),
                            Map.of("file", file.toString()));
                }
            }
        } catch (JvirtException e) {
            throw e;
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "loading the guest's memory from " + file + " failed: " + e,
                    Map.of("file", file.toString()), e);
        } finally {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // QEMU removes it too
            }
        }
    }

    private static void prepare(QmpClient qmp) {
        var caps = QmpClient.args();
        caps.putArray("capabilities").addObject().put("capability", "events").put("state", true);
        qmp.execute("migrate-set-capabilities", caps);
        qmp.execute("migrate-set-parameters", QmpClient.args("max-bandwidth", UNLIMITED_BYTES_PER_SECOND));
    }

    private static void onStatus(JsonNode data, CompletableFuture<String> end) {
        String s = data.path("status").asText();
        if (s.equals("completed") || s.equals("failed") || s.equals("cancelled")) {
            end.complete(s);
        }
    }

    private static String await(QmpClient qmp, CompletableFuture<String> end, Duration timeout) throws Exception {
        CompletableFuture.anyOf(end, qmp.closed()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!end.isDone()) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU exited during the migration");
        }
        return end.get();
    }

    private static String errorOf(QmpClient qmp) {
        try {
            return qmp.execute("query-migrate").path("error-desc").asText("no reason given");
        } catch (RuntimeException e) {
            return e.getMessage();
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
