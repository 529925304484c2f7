package io.jvirt.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Edits files inside a raw image holding an ext2/3/4 filesystem (no partition table) with e2fsprogs' debugfs: no
 * loop mount, no root, no appliance VM. It also grows the filesystem to fill a resized image. debugfs exits 0 even
 * when a command failed, so every written file is read back and compared.
 */
final class Ext4Customizer {
    private static final Duration TIMEOUT = Duration.ofMinutes(30);
    static final String FIRSTBOOT_SCRIPT = "/usr/local/lib/jvirt-firstboot.sh";
    static final String FIRSTBOOT_UNIT = "/etc/systemd/system/jvirt-firstboot.service";

    /** {@code content} as text, or (uploads) {@code source}: a host file whose bytes are copied as they are. */
    record GuestFile(String path, String content, int mode, int uid, int gid, Path source) {
        GuestFile(String path, String content, int mode, int uid, int gid) {
            this(path, content, mode, uid, gid, null);
        }
    }

    record GuestDir(String path, int mode, int uid, int gid) {
    }

    record GuestLink(String path, String target) {
    }

    private Ext4Customizer() {
    }

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
        List<GuestDir> dirs = new ArrayList<>();
        Map<String, GuestFile> files = new LinkedHashMap<>();
        List<GuestLink> links = new ArrayList<>();
        for (Customization.FileWrite w : c.files()) {
            files.put(w.path(), new GuestFile(w.path(), w.content(), 0644, 0, 0));
        }
        for (Customization.FileUpload u : c.uploads()) {
            files.put(u.path(), new GuestFile(u.path(), null, 0644, 0, 0, u.source()));
        }
        if (c.hostname() != null) {
            String hosts = hostsWithHostname(read(rawImage, "/etc/hosts"), c.hostname());
            if (hosts != null) {
                files.put("/etc/hosts", new GuestFile("/etc/hosts", hosts, 0644, 0, 0));
            }
        }
        if (c.rootPassword() != null) {
            files.put("/etc/shadow", shadowWithRootPassword(rawImage, c.rootPassword()));
        }
        for (Customization.SshKey k : c.sshKeys()) {
            String[] pw = passwdEntry(rawImage, k.user());
            int uid = Integer.parseInt(pw[2]);
            int gid = Integer.parseInt(pw[3]);
            String ssh = pw[5] + "/.ssh";
            Customization.checkPath(ssh);
            dirs.add(new GuestDir(ssh, 0700, uid, gid));
            String path = ssh + "/authorized_keys";
            GuestFile prev = files.get(path);
            String existing = prev == null ? read(rawImage, path) : prev.source() == null ? prev.content() : readHost(prev.source());
            if (!existing.isEmpty() && !existing.endsWith("\n")) {
                existing += "\n";
            }
            files.put(path, new GuestFile(path, existing + k.key() + "\n", 0600, uid, gid));
        }
        if (!c.firstbootCommands().isEmpty()) {
            StringBuilder script = new StringBuilder("#!/bin/sh\n# jvirt first-boot commands: run once, then never again\n");
            c.firstbootCommands().forEach(cmd -> script.append(cmd).append('\n'));
            files.put(FIRSTBOOT_SCRIPT, new GuestFile(FIRSTBOOT_SCRIPT, script.toString(), 0755, 0, 0));
            files.put(FIRSTBOOT_UNIT, new GuestFile(FIRSTBOOT_UNIT, """
                    [Unit]
                    Description=jvirt first-boot commands
                    ConditionPathExists=!/var/lib/jvirt-firstboot.done
                    After=local-fs.target

                    [Service]
                    Type=oneshot
                    ExecStart=%s
                    ExecStartPost=/usr/bin/touch /var/lib/jvirt-firstboot.done
                    StandardOutput=journal+console
                    StandardError=journal+console

                    [Install]
                    WantedBy=multi-user.target
                    """.formatted(FIRSTBOOT_SCRIPT), 0644, 0, 0));
            dirs.add(new GuestDir("/etc/systemd/system/multi-user.target.wants", 0755, 0, 0));
            links.add(new GuestLink("/etc/systemd/system/multi-user.target.wants/jvirt-firstboot.service", FIRSTBOOT_UNIT));
        }
        run(rawImage, dirs, new ArrayList<>(files.values()), links, scratchDir);
    }

    private static void run(Path rawImage, List<GuestDir> dirs, List<GuestFile> files, List<GuestLink> links,
            Path scratchDir) {
        if (dirs.isEmpty() && files.isEmpty() && links.isEmpty()) {
            return;
        }
        List<Path> temps = new ArrayList<>();
        try {
            StringBuilder script = new StringBuilder();
            // Only missing directories are made, parents first, each once: debugfs 1.47's mkdir of an existing name
            // can leave an allocated, unlinked inode behind (e2fsck then finds an unconnected directory).
            java.util.LinkedHashSet<String> needed = new java.util.LinkedHashSet<>();
            for (GuestDir d : dirs) {
                needed.addAll(parentsOf(d.path() + "/x"));
            }
            files.forEach(f -> needed.addAll(parentsOf(f.path())));
            links.forEach(l -> needed.addAll(parentsOf(l.path())));
            for (String dir : needed) {
                if (!exists(rawImage, dir)) {
                    script.append("mkdir ").append(dir).append('\n');
                }
            }
            for (GuestDir d : dirs) {
                attrs(script, d.path(), 040000 | d.mode(), d.uid(), d.gid());
            }
            for (GuestFile f : files) {
                Path local = f.source();
                if (local == null) {
                    local = Files.createTempFile(scratchDir, ".write-", ".tmp",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    temps.add(local);
                    Files.writeString(local, f.content(), StandardCharsets.UTF_8);
                }
                if (exists(rawImage, f.path())) {
                    script.append("rm ").append(f.path()).append('\n');
                }
                script.append("write ").append(local).append(' ').append(f.path()).append('\n');
                attrs(script, f.path(), 0100000 | f.mode(), f.uid(), f.gid());
            }
            for (GuestLink l : links) {
                if (exists(rawImage, l.path())) {
                    script.append("rm ").append(l.path()).append('\n');
                }
                script.append("symlink ").append(l.path()).append(' ').append(l.target()).append('\n');
            }
            Path cmds = Files.createTempFile(scratchDir, ".debugfs-", ".cmd");
            temps.add(cmds);
            Files.writeString(cmds, script.toString());
            ToolRunner.Result r = ToolRunner.run(List.of("debugfs", "-w", "-f", cmds.toString(), rawImage.toString()),
                    null, null, TIMEOUT);
            if (!r.ok()) {
                throw ImageException.tool("debugfs could not edit the image: " + r.describe());
            }
            for (GuestFile f : files) {
                boolean same;
                if (f.source() == null) {
                    same = read(rawImage, f.path()).equals(f.content());
                } else {
                    // byte for byte: a text decoding of binary content could hide a difference
                    Path back = Files.createTempFile(scratchDir, ".write-", ".tmp");
                    temps.add(back);
                    ToolRunner.run(List.of("debugfs", "-R", "cat " + f.path(), rawImage.toString()), back, null, TIMEOUT);
                    same = Files.mismatch(back, f.source()) == -1;
                }
                if (!same) {
                    throw ImageException.tool("writing " + f.path() + " into the image failed (debugfs: "
                            + r.stderr().strip() + ")");
                }
            }
            for (GuestLink l : links) {
                String stat = ToolRunner.run(List.of("debugfs", "-R", "stat " + l.path(), rawImage.toString()), null, null,
                        TIMEOUT).stdout();
                if (!stat.contains("Type: symlink") || !stat.contains(l.target())) {
                    throw ImageException.tool("making the link " + l.path() + " in the image failed");
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

    /** "/a/b/c" -> ["/a", "/a/b"]. */
    private static List<String> parentsOf(String path) {
        List<String> out = new ArrayList<>();
        String[] parts = path.substring(1).split("/");
        StringBuilder dir = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            dir.append('/').append(parts[i]);
            out.add(dir.toString());
        }
        return out;
    }

    private static boolean exists(Path rawImage, String guestPath) {
        return ToolRunner.run(List.of("debugfs", "-R", "stat " + guestPath, rawImage.toString()), null, null, TIMEOUT)
                .stdout().contains("Inode:");
    }

    private static void attrs(StringBuilder script, String path, int mode, int uid, int gid) {
        script.append("sif ").append(path).append(" mode 0").append(Integer.toOctalString(mode)).append('\n');
        script.append("sif ").append(path).append(" uid ").append(uid).append('\n');
        script.append("sif ").append(path).append(" gid ").append(gid).append('\n');
    }

    /** /etc/shadow with root's password field replaced by a SHA-512 crypt hash ({@code openssl passwd -6}, via stdin). */
    private static GuestFile shadowWithRootPassword(Path rawImage, String password) {
        String shadow = read(rawImage, "/etc/shadow");
        if (!shadow.lines().anyMatch(l -> l.startsWith("root:"))) {
            throw ImageException.invalid("the template has no root entry in /etc/shadow; cannot set a root password");
        }
        ToolRunner.Result h = ToolRunner.run(List.of("openssl", "passwd", "-6", "-stdin"),
                (password + "\n").getBytes(StandardCharsets.UTF_8), null, null, Duration.ofMinutes(1));
        String hash = h.stdout().strip();
        if (!h.ok() || !hash.startsWith("$6$")) {
            throw ImageException.tool("openssl passwd -6 failed: " + h.stderr().strip());
        }
        StringBuilder sb = new StringBuilder();
        for (String line : shadow.split("\n", -1)) {
            if (line.startsWith("root:")) {
                String[] f = line.split(":", -1);
                f[1] = hash;
                line = String.join(":", f);
            }
            sb.append(line).append('\n');
        }
        sb.setLength(sb.length() - 1);
        int shadowGid = read(rawImage, "/etc/group").lines().filter(l -> l.startsWith("shadow:")).findFirst()
                .map(l -> Integer.parseInt(l.split(":")[2])).orElse(0);
        return new GuestFile("/etc/shadow", sb.toString(), 0640, 0, shadowGid);
    }

    /** The /etc/passwd fields of {@code user}, or a clear error. */
    private static String[] passwdEntry(Path rawImage, String user) {
        for (String line : read(rawImage, "/etc/passwd").split("\n")) {
            String[] f = line.split(":", -1);
            if (f.length >= 7 && f[0].equals(user)) {
                return f;
            }
        }
        throw ImageException.invalid("the template has no user '" + user + "' in /etc/passwd");
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

    private static String readHost(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw ImageException.invalid("uploaded " + file.getFileName() + " is not text: " + e.getMessage());
        }
    }

    /** A file's content from inside the image ({@code debugfs -R "cat PATH"}); empty if it does not exist. */
    static String read(Path rawImage, String guestPath) {
        ToolRunner.Result r = ToolRunner.run(List.of("debugfs", "-R", "cat " + guestPath, rawImage.toString()), null,
                null, TIMEOUT);
        return r.stdout();
    }
}
