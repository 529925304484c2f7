package io.jvirt.images;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Customizes images that are not a bare ext filesystem (virt-builder's partitioned OS templates) with libguestfs'
 * {@code virt-customize}, which boots its own appliance VM. Direct backend (no libvirt); with {@code forceTcg}
 * the appliance runs under TCG, which is what a host where KVM does not really work needs. It inspects the image
 * for an installed OS and refuses images without one.
 */
public final class VirtCustomizer {
    private static final Duration TIMEOUT = Duration.ofMinutes(20);
    private final String binary;
    private final boolean forceTcg;

    public VirtCustomizer(String binary, boolean forceTcg) {
        this.binary = binary;
        this.forceTcg = forceTcg;
    }

    /** virt-customize from PATH, or null when libguestfs-tools is not installed. */
    public static VirtCustomizer find(boolean forceTcg) {
        if (!applianceKernelPresent()) {
            return null; // libguestfs builds its appliance from a host kernel; without one every run fails
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "virt-customize"))) {
                return new VirtCustomizer(Path.of(dir, "virt-customize").toString(), forceTcg);
            }
        }
        return null;
    }

    /**
     * supermin (libguestfs's appliance builder) needs a kernel of the host: /boot/vmlinuz-* or $SUPERMIN_KERNEL.
     * Containers and CI machines often have none, and then virt-customize fails after seconds of work.
     */
    static boolean applianceKernelPresent() {
        String k = System.getenv("SUPERMIN_KERNEL");
        if (k != null && Files.isRegularFile(Path.of(k))) {
            return true;
        }
        try (var boot = Files.newDirectoryStream(Path.of("/boot"), "vmlinuz-*")) {
            return boot.iterator().hasNext();
        } catch (java.io.IOException e) {
            return false;
        }
    }

    void apply(Path rawImage, Customization c) {
        List<String> cmd = new ArrayList<>(List.of(binary, "--no-network", "--format", "raw", "-a", rawImage.toString()));
        if (c.hostname() != null) {
            cmd.addAll(List.of("--hostname", c.hostname()));
        }
        for (Customization.FileWrite w : c.writes()) {
            cmd.addAll(List.of("--write", w.path() + ":" + w.content()));
        }
        for (Customization.FileUpload u : c.uploads()) {
            cmd.addAll(List.of("--upload", u.source() + ":" + u.path()));
        }
        Path secret = null;
        if (c.rootPassword() != null) {
            // a file, not the command line, so the password never shows in ps
            try {
                secret = Files.createTempFile(rawImage.getParent(), ".rootpw-", ".tmp",
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
                Files.writeString(secret, c.rootPassword());
            } catch (java.io.IOException e) {
                throw ImageException.tool("cannot stage the root password: " + e.getMessage());
            }
            cmd.addAll(List.of("--root-password", "file:" + secret));
        }
        for (Customization.SshKey k : c.sshKeys()) {
            cmd.addAll(List.of("--ssh-inject", k.user() + ":string:" + k.key()));
        }
        for (String f : c.firstbootCommands()) {
            cmd.addAll(List.of("--firstboot-command", f));
        }
        Map<String, String> env = forceTcg
                ? Map.of("LIBGUESTFS_BACKEND", "direct", "LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
                : Map.of("LIBGUESTFS_BACKEND", "direct");
        ToolRunner.Result r;
        try {
            r = ToolRunner.run(cmd, null, env, TIMEOUT);
        } finally {
            if (secret != null) {
                try {
                    Files.deleteIfExists(secret);
                } catch (java.io.IOException ignored) {
                    // best effort
                }
            }
        }
        if (!r.ok()) {
            String why = (r.stderr() + "\n" + r.stdout()).lines().filter(l -> l.contains("error")).findFirst()
                    .orElse(r.stderr().strip());
            throw ImageException.tool("virt-customize failed: " + why.strip());
        }
    }
}
