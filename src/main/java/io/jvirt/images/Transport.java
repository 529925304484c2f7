package io.jvirt.images;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/** Fetches index and template files over http(s) (the JDK HttpClient) or from file:// URIs. */
final class Transport {
    private static final int MAX_INDEX_BYTES = 16 << 20;
    /** Made on first use: an HttpClient starts a selector thread and loads the TLS stack, a daemon's idle cost. */
    private HttpClient http;

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30))
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        return http;
    }

    /** Bytes downloaded so far, and the length the server or file system announced (-1 if none). */
    @FunctionalInterface
    interface Progress {
        void bytes(long done, long total);
    }

    private record Opened(InputStream in, long length) {
    }

    /** A small file (index, signature) in memory. */
    byte[] fetchSmall(String source, URI uri) {
        try (InputStream in = open(source, uri).in()) {
            byte[] b = in.readNBytes(MAX_INDEX_BYTES + 1);
            if (b.length > MAX_INDEX_BYTES) {
                throw ImageException.badIndex(source, uri + " is larger than " + MAX_INDEX_BYTES + " bytes");
            }
            return b;
        } catch (IOException e) {
            throw ImageException.unreachable(source, "cannot read " + uri + ": " + e.getMessage());
        }
    }

    /** Streams {@code uri} into {@code to} and returns the sha512 (hex) of what was written. */
    String download(String source, URI uri, Path to, Progress progress) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Opened opened;
        try {
            opened = open(source, uri);
        } catch (IOException e) {
            throw ImageException.unreachable(source, "downloading " + uri + " failed: " + e.getMessage());
        }
        try (InputStream in = opened.in(); OutputStream out = Files.newOutputStream(to)) {
            progress.bytes(0, opened.length());
            byte[] buf = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new IOException("interrupted");
                }
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
                total += n;
                progress.bytes(total, opened.length());
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw ImageException.unreachable(source, "downloading " + uri + " failed: " + e.getMessage());
        }
    }

    private Opened open(String source, URI uri) throws IOException {
        if ("file".equals(uri.getScheme())) {
            try {
                Path p = Path.of(uri);
                return new Opened(Files.newInputStream(p), Files.size(p));
            } catch (NoSuchFileException e) {
                throw new IOException("no such file " + uri.getPath());
            }
        }
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5)).GET().build();
        HttpResponse<InputStream> resp;
        try {
            resp = http().send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (resp.statusCode() != 200) {
            resp.body().close();
            throw new IOException("HTTP " + resp.statusCode());
        }
        return new Opened(resp.body(), resp.headers().firstValueAsLong("content-length").orElse(-1));
    }
}
