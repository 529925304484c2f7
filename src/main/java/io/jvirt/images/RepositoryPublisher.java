package io.jvirt.images;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.storage.QemuImg;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns a directory of disk images into a repository virt-builder and jvirt read: each {@code NAME.qcow2},
 * {@code NAME.raw} or {@code NAME.img} is xz-compressed with 16 MiB blocks (so it stays seekable), measured with
 * qemu-img, hashed, and listed in {@code index}, which is then clear-signed into {@code index.asc} with the given
 * key. Metadata already in an existing {@code index} (name, osinfo, notes, aliases, ...) is kept; the revision goes
 * up when a template's content changed.
 */
public final class RepositoryPublisher {
    private static final Pattern IMAGE = Pattern.compile("([A-Za-z0-9][A-Za-z0-9._+-]*)\\.(qcow2|raw|img)");
    private static final Duration TIMEOUT = Duration.ofHours(2);
    private final QemuImg qemuImg;

    public RepositoryPublisher(QemuImg qemuImg) {
        this.qemuImg = qemuImg;
    }

    /**
     * @param gnupgHome the GNUPGHOME holding the secret key (null: gpg's default)
     * @param keyId     the signing key (id, fingerprint or user id)
     * @param passphraseFile file holding the key's passphrase, or null for a key without one
     */
    public TemplateIndex publish(Path dir, Path gnupgHome, String keyId, Path passphraseFile) throws IOException {
        Map<String, IndexEntry> previous = new LinkedHashMap<>();
        if (Files.isRegularFile(dir.resolve("index"))) {
            for (IndexEntry e : IndexParser.parse(Files.readString(dir.resolve("index"))).entries()) {
                previous.put(e.id(), e);
            }
        }
        List<Path> images;
        try (var files = Files.list(dir)) {
            images = files.filter(p -> IMAGE.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p))
                    .sorted().toList();
        }
        if (images.isEmpty()) {
            throw ImageException.invalid("no NAME.qcow2, NAME.raw or NAME.img files in " + dir);
        }
        List<IndexEntry> entries = new ArrayList<>();
        for (Path image : images) {
            var m = IMAGE.matcher(image.getFileName().toString());
            m.matches();
            String id = m.group(1);
            JsonNode info = qemuImg.info(image, false);
            String format = info.path("format").asText("raw");
            long size = info.path("virtual-size").asLong();
            Path xz = image.resolveSibling(image.getFileName() + ".xz");
            Path part = image.resolveSibling("." + image.getFileName() + ".xz.part");
            if (!Files.isRegularFile(xz) || Files.getLastModifiedTime(xz).compareTo(Files.getLastModifiedTime(image)) < 0) {
                ToolRunner.Result r = ToolRunner.run(List.of("xz", "--compress", "--stdout", "--block-size=16MiB", "-T0",
                        "--", image.toString()), part, null, TIMEOUT);
                if (!r.ok()) {
                    Files.deleteIfExists(part);
                    throw ImageException.tool("xz " + image + ": " + r.describe());
                }
                Files.move(part, xz, StandardCopyOption.REPLACE_EXISTING);
            }
            String sum = sha512(xz);
            IndexEntry old = previous.get(id);
            String revision = old == null ? "1" : old.checksumSha512() != null && old.checksumSha512().equals(sum)
                    ? old.revisionOrDefault() : nextRevision(old.revisionOrDefault());
            entries.add(new IndexEntry(id, old != null && old.name() != null ? old.name() : id,
                    old == null ? null : old.osinfo(), old != null && old.arch() != null ? old.arch() : "x86_64",
                    xz.getFileName().toString(), revision, sum, format, size, Files.size(xz),
                    old == null ? null : old.expand(), old == null ? null : old.notes(), old != null && old.hidden(),
                    old == null ? null : old.aliases(), old == null ? null : old.extra()));
        }
        TemplateIndex index = new TemplateIndex(entries);
        Path indexPart = dir.resolve(".index.part");
        Files.writeString(indexPart, IndexWriter.write(index));
        Files.move(indexPart, dir.resolve("index"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        sign(dir, gnupgHome, keyId, passphraseFile);
        return index;
    }

    private static void sign(Path dir, Path gnupgHome, String keyId, Path passphraseFile) throws IOException {
        Path ascPart = dir.resolve(".index.asc.part");
        Files.deleteIfExists(ascPart);
        List<String> cmd = new ArrayList<>(List.of("gpg", "--batch", "--no-tty", "--yes"));
        if (gnupgHome != null) {
            cmd.addAll(List.of("--homedir", gnupgHome.toString()));
        }
        cmd.addAll(List.of("--pinentry-mode", "loopback"));
        if (passphraseFile != null) {
            cmd.addAll(List.of("--passphrase-file", passphraseFile.toString()));
        } else {
            cmd.addAll(List.of("--passphrase", ""));
        }
        cmd.addAll(List.of("--local-user", keyId, "--clearsign", "--output", ascPart.toString(),
                dir.resolve("index").toString()));
        ToolRunner.Result r = ToolRunner.run(cmd, null, Map.of("LC_ALL", "C"), Duration.ofMinutes(2));
        if (!r.ok()) {
            Files.deleteIfExists(ascPart);
            throw ImageException.tool("signing the index with key " + keyId + " failed: " + r.stderr().strip());
        }
        Files.move(ascPart, dir.resolve("index.asc"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String nextRevision(String r) {
        try {
            return Long.toString(Long.parseLong(r.trim()) + 1);
        } catch (NumberFormatException e) {
            return r + ".1";
        }
    }

    static String sha512(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-512");
            try (var in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
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
}
