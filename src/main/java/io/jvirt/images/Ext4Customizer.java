package io.jvirt.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Edits files inside a raw image holding an ext2/3/4 filesystem (no partition table) with e2fsprogs' debugfs: no
 * loop mount, no root, no appliance VM. It also grows the filesystem to fill a resized image. debugfs exits 0 even
 * when a command failed, so every write is read back and compared.
 */
final class Ext4Customizer {
    private static final Duration TIMEOUT = Duration.ofMinutes(30);

    /** Whether the raw image is an ext2/3/4 filesystem from its first byte. */
    static boolean isExtFilesystem(Path rawImage) {
        return ToolRunner.run(List.of("dumpe2fs", "-h", rawImage.toString()), null, null, TIMEOUT).ok();
    }

    /** Checks the filesystem and grows it to the image's size. */
    static void growFilesystem(Path rawImage) {
        ToolRunner.Result fsck = ToolRunner.run(List.of("e2fsck", "-f", "-p", rawImage.toString()), null, null, TIMEOUT);
        if ((fsck.exit() & ~3) != 0) { // 1 and 2 mean "errors corrected"
            throw ImageException.tool("e2fsck found errors it could not fix in the template: " + fsck.describe());
        }
        ToolRunner.Result r = ToolRunner.run(List.of("resize2fs", rawImage.toString()), null, null, TIMEOUT);
        if (!r.ok()) {
            throw ImageException.tool("resize2fs failed: " + r.describe());
        }
    }

    static void apply(Path rawImage, Customization c, Path scratchDir) {
        List<Customization.FileWrite> files = new ArrayList<>(c.files());
        if (c.hostname() != null) {
            String hosts = hostsWithHostname(read(rawImage, "/etc/hosts"), c.hostname());
            if (hosts != null) {
                files.add(0, new Customization.FileWrite("/etc/hosts", hosts));
            }
        }
        if (files.isEmpty()) {
            return;
        }
        List<Path> temps = new ArrayList<>();
        try {
            StringBuilder script = new StringBuilder();
            for (Customization.FileWrite w : files) {
                Path local = Files.createTempFile(scratchDir, ".write-", ".tmp",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
                temps.add(local);
                Files.writeString(local, w.content(), StandardCharsets.UTF_8);
                // parents first (an existing one is a harmless error), then replace the file
                String[] parts = w.path().substring(1).split("/");
                StringBuilder dir = new StringBuilder();
                for (int i = 0; i < parts.length - 1; i++) {
                    dir.append('/').append(parts[i]);
                    script.append("mkdir ").append(dir).append('\n');
                }
                script.append("rm ").append(w.path()).append('\n');
                script.append("write ").append(local).append(' ').append(w.path()).append('\n');
                script.append("sif ").append(w.path()).append(" uid 0\n");
                script.append("sif ").append(w.path()).append(" gid 0\n");
            }
            Path cmds = Files.createTempFile(scratchDir, ".debugfs-", ".cmd");
            temps.add(cmds);
            Files.writeString(cmds, script.toString());
            ToolRunner.Result r = ToolRunner.run(List.of("debugfs", "-w", "-f", cmds.toString(), rawImage.toString()),
                    null, null, TIMEOUT);
            if (!r.ok()) {
                throw ImageException.tool("debugfs could not edit the image: " + r.describe());
            }
            for (Customization.FileWrite w : files) {
                String back = read(rawImage, w.path());
                if (!back.equals(w.content())) {
                    throw ImageException.tool("writing " + w.path() + " into the image failed (debugfs: "
                            + r.stderr().strip() + ")");
                }
            }
        } catch (IOException e) {
            throw ImageException.tool("customizing the image: " + e.getMessage());
        } finally {
            for (Path p : temps) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    /**
     * Debian's /etc/hosts names the host on a 127.0.1.1 line; like virt-customize, point that line at the new name.
     * Null when there is no such file or line (nothing to change).
     */
    static String hostsWithHostname(String hosts, String hostname) {
        if (hosts == null || hosts.isEmpty()) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        boolean changed = false;
        for (String line : hosts.split("\n", -1)) {
            if (line.startsWith("127.0.1.1") && (line.length() == 9 || Character.isWhitespace(line.charAt(9)))) {
                String shortName = hostname.contains(".") ? hostname.substring(0, hostname.indexOf('.')) : hostname;
                line = "127.0.1.1\t" + hostname + (shortName.equals(hostname) ? "" : " " + shortName);
                changed = true;
            }
            sb.append(line).append('\n');
        }
        sb.setLength(sb.length() - 1);
        return changed ? sb.toString() : null;
    }

    /** A file's content from inside the image ({@code debugfs -R "cat PATH"}). */
    static String read(Path rawImage, String guestPath) {
        ToolRunner.Result r = ToolRunner.run(List.of("debugfs", "-R", "cat " + guestPath, rawImage.toString()), null,
                null, TIMEOUT);
        return r.stdout();
    }
}
