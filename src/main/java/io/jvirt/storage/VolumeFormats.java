package io.jvirt.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.store.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The format jvirt gave each volume it made, kept beside the pool's images in {@code <pool>/.jvirt/<vol>.json}
 * (hidden: never listed, never a valid volume name). qemu-img then reads the image with that format instead of
 * guessing from its content, which a guest controls. Files put into a pool by hand have no record and are probed.
 */
final class VolumeFormats {
    static final String DIR = ".jvirt";
    private static final ObjectMapper JSON = new ObjectMapper();

    private VolumeFormats() {
    }

    static Optional<String> get(Path volume) {
        Path f = record(volume);
        try {
            JsonNode n = JSON.readTree(Files.readAllBytes(f));
            String format = n.path("format").asText(null);
            return Optional.ofNullable(format).filter(VolumeService.FORMATS::contains);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
    }

    /** Durable before the image appears under its name, so a volume that exists always has its format known. */
    static void put(Path volume, String format) {
        Path f = record(volume);
        try {
            Files.createDirectories(f.getParent());
            AtomicFiles.write(f, JSON.writeValueAsBytes(java.util.Map.of("format", format)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + f, e);
        }
    }

    static void remove(Path volume) {
        try {
            AtomicFiles.delete(record(volume));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the format record of " + volume, e);
        }
    }

    private static Path record(Path volume) {
        return volume.resolveSibling(DIR).resolve(volume.getFileName() + ".json");
    }
}
