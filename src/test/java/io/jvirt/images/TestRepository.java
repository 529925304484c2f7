package io.jvirt.images;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Template repositories served over real HTTP on 127.0.0.1 (the JDK's HttpServer serving a directory), with
 * templates made by the real tools: an ext4 filesystem from mkfs.ext4 -d, xz-compressed, and a qcow2 copy.
 */
final class TestRepository implements AutoCloseable {
    final Path root;
    private final HttpServer server;

    private TestRepository(Path root, HttpServer server) {
        this.root = root;
        this.server = server;
    }

    static TestRepository serve(Path root) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            try (ex) {
                Path p = root.resolve(ex.getRequestURI().getPath().substring(1)).normalize();
                if (!ex.getRequestMethod().equals("GET") || !p.startsWith(root) || !Files.isRegularFile(p)) {
                    ex.sendResponseHeaders(404, -1);
                    return;
                }
                ex.sendResponseHeaders(200, Files.size(p));
                try (OutputStream out = ex.getResponseBody()) {
                    Files.copy(p, out);
                }
            }
        });
        server.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        return new TestRepository(root, server);
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + path;
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // ------------------------------------------------------------------ building templates with the real tools

    /** A bare ext4 filesystem of {@code sizeMiB} holding the given files (path relative to / -> content). */
    static Path ext4(Path out, int sizeMiB, Map<String, String> files) throws IOException {
        Path tree = Files.createTempDirectory(out.getParent(), "tree");
        try {
            for (var f : files.entrySet()) {
                Path p = tree.resolve(f.getKey());
                Files.createDirectories(p.getParent());
                Files.writeString(p, f.getValue());
            }
            run("mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", tree.toString(), out.toString(), sizeMiB + "M");
        } finally {
            try (var walk = Files.walk(tree)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return out;
    }

    static Path xz(Path file) {
        run("xz", "--keep", "--force", "--block-size=16MiB", file.toString());
        return file.resolveSibling(file.getFileName() + ".xz");
    }

    static String sha512(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-512");
            try (var in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An index entry for a file already in {@code dir}, with its real checksum and sizes. */
    static IndexEntry entry(Path dir, String id, String file, String format, long size, String notes, boolean hidden,
            List<String> aliases) throws IOException {
        Path f = dir.resolve(file);
        return new IndexEntry(id, "Test template " + id, "debian12", "x86_64", file, "2", sha512(f), format, size,
                Files.size(f), null, notes, hidden, aliases, null);
    }

    static String run(String... cmd) {
        ToolRunner.Result r = ToolRunner.run(new ArrayList<>(List.of(cmd)), null, null, Duration.ofMinutes(5));
        if (!r.ok()) {
            throw new AssertionError(r.describe());
        }
        return r.stdout();
    }
}
