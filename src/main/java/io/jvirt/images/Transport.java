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
import java.util.function.LongConsumer;

/** Fetches index and template files over http(s) (the JDK HttpClient) or from file:// URIs. */
final class Transport {
    private static final int MAX_INDEX_BYTES = 16 << 20;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30))
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    /** A small file (index, signature) in memory. */
    byte[] fetchSmall(String source, URI uri) {
        try (InputStream in = open(source, uri)) {
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
    String download(String source, URI uri, Path to, LongConsumer progress) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = open(source, uri); OutputStream out = Files.newOutputStream(to)) {
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
                progress.accept(total);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw ImageException.unreachable(source, "downloading " + uri + " failed: " + e.getMessage());
        }
    }

    private InputStream open(String source, URI uri) throws IOException {
        if ("file".equals(uri.getScheme())) {
            try {
                return Files.newInputStream(Path.of(uri));
            } catch (NoSuchFileException e) {
                throw new IOException("no such file " + uri.getPath());
            }
        }
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5)).GET().build();
        HttpResponse<InputStream> resp;
        try {
            resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (resp.statusCode() != 200) {
            resp.body().close();
            throw new IOException("HTTP " + resp.statusCode());
        }
        return resp.body();
    }
}
