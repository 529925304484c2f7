package io.jvirt.images;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.jvirt.storage.QemuImg;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.VmDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * VM bundles in the QEMU Advent Calendar's shape, with a fixed layout so every bundle is complete: a tarball with
 * one directory {@code NAME/} holding the disks ({@code disk-vda.qcow2}, flattened), the kernel and initrd of a
 * direct-boot VM, a plain {@code run} script that starts it with QEMU alone, a {@code README} (description),
 * {@code SOURCES} (where the guest's software comes from: its Debian package list when the disk is a Debian
 * filesystem) and {@code vm.json} (the definition with bundle-relative paths) that import reads back.
 * Archives are made and read with GNU tar as argument arrays, and checked member by member before extraction.
 */
public final class Bundles {
    private static final Pattern MEMBER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?/?");
    private static final Duration TIMEOUT = Duration.ofMinutes(60);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Path bundleDir;
    private final Path imageDir;
    private final QemuImg qemuImg;
    private final String defaultAccel;
    private final ObjectMapper strictJson;

    /** @param strictJson reads a bundle's vm.json as strictly as the API reads a definition (the daemon's settings) */
    public Bundles(Path bundleDir, Path imageDir, QemuImg qemuImg, String defaultAccel, ObjectMapper strictJson) {
        this.bundleDir = bundleDir;
        this.imageDir = imageDir;
        this.qemuImg = qemuImg;
        this.defaultAccel = defaultAccel;
        this.strictJson = strictJson;
    }

    public Path bundleDir() {
        return bundleDir;
    }

    /** Checks the bundle file name (a file directly in the bundle directory, ending in .tar). */
    public Path bundlePath(String file) {
        if (file == null || !file.endsWith(".tar")) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "bundle file '" + file + "' must be a NAME.tar");
        }
        return VolumeNames.resolve(bundleDir, file);
    }

    // ------------------------------------------------------------------------------------------------- export

    public Path export(VmDefinition def, String file, String description) {
        Path target = bundlePath(file);
        if (Files.exists(target)) {
            throw new JvirtException(ErrorCode.VOLUME_EXISTS, "bundle '" + file + "' already exists in " + bundleDir,
                    Map.of("bundle", file));
        }
        String tag = UUID.randomUUID().toString().substring(0, 8);
        Path staging = bundleDir.resolve(".export-" + tag);
        Path part = bundleDir.resolve("." + file + "." + tag + ".part");
        try {
            Path top = Files.createDirectories(staging.resolve(def.name()));
            List<VmDefinition.Disk> disks = new ArrayList<>();
            StringBuilder drives = new StringBuilder();
            for (VmDefinition.Disk d : def.disks() == null ? List.<VmDefinition.Disk>of() : def.disks()) {
                String name = "disk-" + d.name() + ".qcow2";
                qemuImg.convert(Path.of(d.path()), d.format(), top.resolve(name), "qcow2");
                disks.add(d.withImage(new io.jvirt.vm.DiskImage(name, "qcow2")));
                drives.append("    -drive \"file=$here/").append(name).append(",format=qcow2,if=")
                        .append("sata".equals(d.bus()) ? "ide" : "virtio")
                        .append(Boolean.TRUE.equals(d.readOnly()) ? ",readonly=on" : "").append("\" \\\n");
            }
            VmDefinition.Boot boot = null;
            StringBuilder kernelArgs = new StringBuilder();
            if (def.boot() != null && def.boot().kernel() != null) {
                Files.copy(Path.of(def.boot().kernel()), top.resolve("vmlinuz"));
                kernelArgs.append("    -kernel \"$here/vmlinuz\" \\\n");
                String initrd = null;
                if (def.boot().initrd() != null) {
                    Files.copy(Path.of(def.boot().initrd()), top.resolve("initrd.img"));
                    kernelArgs.append("    -initrd \"$here/initrd.img\" \\\n");
                    initrd = "initrd.img";
                }
                if (def.boot().cmdline() != null) {
                    kernelArgs.append("    -append '").append(def.boot().cmdline().replace("'", "'\\''")).append("' \\\n");
                }
                boot = new VmDefinition.Boot("vmlinuz", initrd, def.boot().cmdline());
            }
            int mem = def.memoryMiB() == null ? 512 : def.memoryMiB();
            int cpus = def.vcpus() == null ? 1 : def.vcpus();
            String accel = def.accel() != null && !def.accel().equals("auto") ? def.accel() : defaultAccel;
            String run = "#!/bin/sh\n"
                    + "# Starts " + def.name() + " with QEMU alone; the serial console is this terminal (Ctrl-a x quits).\n"
                    + "# ACCEL=kvm or ACCEL=tcg overrides the accelerator; extra arguments go to QEMU.\n"
                    + "here=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n"
                    + "exec \"${QEMU:-qemu-system-x86_64}\" -machine q35 -accel \"${ACCEL:-" + accel + "}\" \\\n"
                    + "    -m " + mem + " -smp " + cpus + " -nographic -nodefaults -serial mon:stdio \\\n"
                    + kernelArgs + drives + "    \"$@\"\n";
            Path runFile = top.resolve("run");
            Files.writeString(runFile, run);
            Files.setPosixFilePermissions(runFile, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.writeString(top.resolve("README"), readme(def, description, mem, cpus));
            Files.writeString(top.resolve("SOURCES"), sources(top, disks));
            VmDefinition portable = def.portable(def.name()).withBoot(boot).withDisks(disks);
            Files.writeString(top.resolve("vm.json"), JSON.writeValueAsString(portable));
            io.jvirt.files.FileModes.createDirectories(bundleDir, 0750); // bundles are for the socket group
            // 0640 from the start (tar writes into the file and keeps its mode): a bundle holds the VM's disks
            Files.deleteIfExists(part);
            io.jvirt.files.FileModes.createFile(part, io.jvirt.files.FileModes.GROUP_READABLE_FILE);
            ToolRunner.Result r = ToolRunner.run(List.of("tar", "--create", "--file", part.toString(), "--directory",
                    staging.toString(), "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "--", def.name()),
                    null, null, TIMEOUT);
            if (!r.ok()) {
                throw ImageException.tool("tar: " + r.describe());
            }
            Files.move(part, target);
            return target;
        } catch (IOException e) {
            throw ImageException.tool("exporting " + def.name() + ": " + e.getMessage());
        } finally {
            deleteTree(staging);
            deleteQuietly(part);
        }
    }

    private static String readme(VmDefinition def, String description, int mem, int cpus) {
        StringBuilder sb = new StringBuilder();
        sb.append(def.name()).append('\n').append("=".repeat(def.name().length())).append("\n\n");
        if (description != null && !description.isBlank()) {
            sb.append(description.strip()).append("\n\n");
        }
        sb.append("Memory: ").append(mem).append(" MiB, vCPUs: ").append(cpus).append('\n');
        sb.append("Run it: ./run   (needs qemu-system-x86_64; ACCEL=kvm ./run for hardware acceleration)\n");
        sb.append("Import it into jvirt: jvirt image import ").append(def.name()).append(".tar\n");
        sb.append("Where the guest's software comes from: SOURCES. Made by jvirt.\n");
        return sb.toString();
    }

    /** The Debian packages (name and version) installed on each disk that is a Debian ext filesystem. */
    private String sources(Path top, List<VmDefinition.Disk> disks) {
        StringBuilder sb = new StringBuilder("# Software in this bundle and where its sources are\n");
        for (VmDefinition.Disk d : disks) {
            Path raw = top.resolve("." + d.name() + ".raw");
            try {
                qemuImg.convert(top.resolve(d.path()), "qcow2", raw, "raw");
                String status = Ext4Customizer.isExtFilesystem(raw) ? Ext4Customizer.read(raw, "/var/lib/dpkg/status") : "";
                List<String> pkgs = new ArrayList<>();
                String pkg = null;
                for (String line : status.split("\n")) {
                    if (line.startsWith("Package: ")) {
                        pkg = line.substring(9).strip();
                    } else if (line.startsWith("Version: ") && pkg != null) {
                        pkgs.add(pkg + " " + line.substring(9).strip());
                        pkg = null;
                    }
                }
                if (pkgs.isEmpty()) {
                    sb.append("\n[").append(d.path()).append("]\nno Debian package database found on this disk\n");
                } else {
                    sb.append("\n[").append(d.path()).append("]\nDebian packages; sources with 'apt-get source NAME=VERSION' ")
                            .append("or from snapshot.debian.org:\n");
                    pkgs.stream().sorted().forEach(p -> sb.append(p).append('\n'));
                }
            } finally {
                deleteQuietly(raw);
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------------- import

    /** What an import made: the definition to define, and the files it moved into the image directory. */
    public record Imported(VmDefinition definition, List<Path> files) {
    }

    public Imported importBundle(String file, String newName) {
        Path tar = bundlePath(file);
        if (!Files.isRegularFile(tar)) {
            throw new JvirtException(ErrorCode.NOT_FOUND, "no bundle '" + file + "' in " + bundleDir, Map.of("bundle", file));
        }
        String top = checkMembers(file, tar);
        String tag = UUID.randomUUID().toString().substring(0, 8);
        Path staging = bundleDir.resolve(".import-" + tag);
        List<Path> moved = new ArrayList<>();
        try {
            Files.createDirectories(staging);
            ToolRunner.Result x = ToolRunner.run(List.of("tar", "--extract", "--file", tar.toString(), "--directory",
                    staging.toString(), "--no-same-owner", "--no-same-permissions", "--no-overwrite-dir"), null, null,
                    TIMEOUT);
            if (!x.ok()) {
                throw bad(file, "tar cannot extract it: " + x.stderr().strip());
            }
            Path dir = staging.resolve(top);
            Path vmJson = dir.resolve("vm.json");
            if (!Files.isRegularFile(vmJson)) {
                throw bad(file, "it has no " + top + "/vm.json");
            }
            VmDefinition def;
            try {
                def = strictJson.readValue(vmJson.toFile(), VmDefinition.class);
            } catch (IOException e) {
                throw bad(file, "vm.json is not a VM definition: " + e.getMessage());
            }
            String name = newName != null ? newName : def.name();
            io.jvirt.vm.DefinitionValidator.checkName(name);
            Files.createDirectories(imageDir);
            List<VmDefinition.Disk> disks = new ArrayList<>();
            for (VmDefinition.Disk d : def.disks() == null ? List.<VmDefinition.Disk>of() : def.disks()) {
                Path src = memberFile(file, dir, d.path());
                var info = qemuImg.info(src, "qcow2");
                if (info.hasNonNull("backing-filename") || info.path("format-specific").path("data").hasNonNull("data-file")) {
                    throw bad(file, d.path() + " refers to another file (backing or data file)");
                }
                Path dst = claim(imageDir, name + "-" + d.name() + ".qcow2", moved, src);
                disks.add(d.withImage(new io.jvirt.vm.DiskImage(dst.toString(), "qcow2")));
            }
            VmDefinition.Boot boot = null;
            if (def.boot() != null && def.boot().kernel() != null) {
                Path k = claim(imageDir, name + "-vmlinuz", moved, memberFile(file, dir, def.boot().kernel()));
                Path i = def.boot().initrd() == null ? null
                        : claim(imageDir, name + "-initrd.img", moved, memberFile(file, dir, def.boot().initrd()));
                boot = new VmDefinition.Boot(k.toString(), i == null ? null : i.toString(), def.boot().cmdline());
            }
            return new Imported(def.portable(name).withBoot(boot).withDisks(disks), moved);
        } catch (IOException e) {
            moved.forEach(Bundles::deleteQuietly);
            throw ImageException.tool("importing " + file + ": " + e.getMessage());
        } catch (RuntimeException e) {
            moved.forEach(Bundles::deleteQuietly);
            throw e;
        } finally {
            deleteTree(staging);
        }
    }

    /**
     * Every member must be a regular file or a directory (no links, devices or fifos), under one top directory,
     * with a plain relative name: no absolute paths, no {@code ..}, nothing but [A-Za-z0-9._-] components.
     */
    private static String checkMembers(String file, Path tar) {
        ToolRunner.Result names = ToolRunner.run(List.of("tar", "--list", "--file", tar.toString()), null,
                Map.of("LC_ALL", "C"), TIMEOUT);
        ToolRunner.Result verbose = ToolRunner.run(List.of("tar", "--list", "--verbose", "--file", tar.toString()), null,
                Map.of("LC_ALL", "C"), TIMEOUT);
        if (!names.ok() || !verbose.ok()) {
            throw bad(file, "it is not a readable tar archive: " + (names.ok() ? verbose : names).stderr().strip());
        }
        List<String> n = names.stdout().lines().toList();
        List<String> v = verbose.stdout().lines().toList();
        if (n.isEmpty() || n.size() != v.size()) {
            throw bad(file, "it is empty or has member names tar cannot list one per line");
        }
        Set<String> tops = new HashSet<>();
        for (int i = 0; i < n.size(); i++) {
            String name = n.get(i);
            char type = v.get(i).charAt(0);
            if (type != '-' && type != 'd') {
                throw bad(file, "member '" + name + "' is a " + (type == 'l' ? "symbolic link" : type == 'h' ? "hard link"
                        : "special file") + "; bundles hold only files and directories");
            }
            if (name.startsWith("/") || name.contains("..") || !MEMBER.matcher(name).matches()) {
                throw bad(file, "member '" + name + "' is not a plain relative path NAME/FILE (absolute, .., or odd characters)");
            }
            tops.add(name.split("/")[0]);
        }
        if (tops.size() != 1) {
            throw bad(file, "it must hold exactly one top directory, found " + tops);
        }
        return tops.iterator().next();
    }

    private static Path memberFile(String file, Path dir, String relative) {
        if (relative == null || !relative.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw bad(file, "vm.json names '" + relative + "', which is not a file of the bundle");
        }
        Path p = dir.resolve(relative);
        if (!Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw bad(file, "vm.json names " + relative + ", which the bundle does not hold");
        }
        return p;
    }

    private static Path claim(Path imageDir, String name, List<Path> moved, Path src) throws IOException {
        Path dst = VolumeNames.resolve(imageDir, name);
        if (Files.exists(dst)) {
            throw new JvirtException(ErrorCode.VOLUME_EXISTS, dst.getFileName() + " already exists in " + imageDir,
                    Map.of("volume", name));
        }
        Files.move(src, dst);
        moved.add(dst);
        return dst;
    }

    private static JvirtException bad(String file, String why) {
        return new JvirtException(ErrorCode.BAD_BUNDLE, "bundle '" + file + "' refused: " + why, Map.of("bundle", file));
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(Bundles::deleteQuietly);
        } catch (IOException ignored) {
            // best effort
        }
    }

}
