package io.jvirt.confine;

import java.util.ArrayList;
import java.util.List;

/**
 * How QEMU is started without root: {@code setpriv} switches to QEMU's user and then execs QEMU (same pid), so
 * QEMU never holds root, not even while it opens its disks and parses their headers; its only supplementary
 * group is that of /dev/kvm; no capabilities, none inheritable, an empty bounding set and no_new_privs. QEMU's
 * own seccomp filter ({@code -sandbox}) then refuses obsolete system calls, any set*uid/set*gid, fork/exec and
 * scheduler/NUMA changes.
 *
 * <p>Not QEMU's {@code -runas}: it opens everything as root first and drops privileges only before the guest
 * runs, and its setuid is exactly what {@code elevateprivileges=deny} forbids (QEMU 7.2 is then killed with
 * SIGSYS; see ConfinedQemuTest). The JDK cannot setuid a child itself.
 *
 * <p>Use: {@code setsid} + {@link #prefix} + the QEMU command line + {@link #SANDBOX}.
 */
public final class QemuConfinement {
    /** QEMU's seccomp filter, everything denied that a VM never needs. */
    public static final List<String> SANDBOX = List.of("-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");

    private QemuConfinement() {
    }

    /** The argv that runs what follows as {@code user}: {@code setpriv ... --}. */
    public static List<String> prefix(QemuUser user) {
        List<String> a = new ArrayList<>(List.of("setpriv", "--reuid=" + user.uid(), "--regid=" + user.gid()));
        a.add(user.kvmGid() != null ? "--groups=" + user.kvmGid() : "--clear-groups");
        a.addAll(List.of("--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"));
        return a;
    }

    /** {@code prefix(user) + qemuCommand + SANDBOX}. */
    public static List<String> command(QemuUser user, List<String> qemuCommand) {
        List<String> a = new ArrayList<>(prefix(user));
        a.addAll(qemuCommand);
        a.addAll(SANDBOX);
        return a;
    }
}
