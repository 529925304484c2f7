package io.jvirt.confine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The unprivileged identity QEMU runs as (by default {@code jvirt-qemu}, made by scripts/lib.sh install_deps:
 * {@code useradd --system --no-create-home --shell /usr/sbin/nologin jvirt-qemu}). {@code kvmGid} is the group
 * of {@code /dev/kvm}, given to QEMU as its only supplementary group so it can still open the device; null when
 * the host has no /dev/kvm.
 */
public record QemuUser(String name, int uid, int gid, Integer kvmGid) {
    public static final String DEFAULT_NAME = "jvirt-qemu";

    /** Looks the user up through NSS ({@code getent passwd}), so LDAP or sssd users work too. */
    public static Optional<QemuUser> lookup(String name) {
        if (!name.matches("[a-z_][a-z0-9_-]{0,31}")) {
            throw new IllegalArgumentException("invalid user name '" + name + "'");
        }
        Tool.Result r = Tool.run(java.util.List.of("getent", "passwd", name), 10);
        if (!r.ok()) {
            return Optional.empty();
        }
        String[] f = r.stdout().strip().split(":");
        if (f.length < 4) {
            return Optional.empty();
        }
        return Optional.of(new QemuUser(name, Integer.parseInt(f[2]), Integer.parseInt(f[3]), kvmGroup()));
    }

    /** The group owning /dev/kvm (a number: in containers it often has no name). */
    static Integer kvmGroup() {
        Path kvm = Path.of("/dev/kvm");
        try {
            return Files.exists(kvm) ? (Integer) Files.getAttribute(kvm, "unix:gid") : null;
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
