package io.jvirt.confine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Can this host confine QEMU? Asked once at daemon start; the answer goes to {@code info} and the log. A host
 * that cannot is not refused: QEMU then runs as root and every report says so ("runs as root: high
 * privileges"), the taint libvirt calls "high-privileges", instead of failing silently.
 */
public final class ConfinementProbe {
    /** How QEMU will run here. */
    public enum Mode {
        /** As the unprivileged QEMU user, files granted by ACL, seccomp on. */
        CONFINED,
        /** The daemon itself is not root: QEMU runs as the daemon's user (seccomp on, no labelling needed). */
        DAEMON_USER,
        /** As root: the user, setpriv, ACLs or seccomp are missing (see reasons). */
        ROOT
    }

    /** The verdict: {@code user} is set for CONFINED; {@code reasons} say what is missing for ROOT. */
    public record Result(Mode mode, QemuUser user, List<String> reasons) {
        /** One line for {@code info} and the log. */
        public String summary() {
            return switch (mode) {
                case CONFINED -> "QEMU runs as " + user.name() + " (uid " + user.uid() + ") with seccomp, granted only its VM's files";
                case DAEMON_USER -> "QEMU runs as the daemon's own unprivileged user"
                        + (reasons.isEmpty() ? ", with seccomp" : " (" + String.join("; ", reasons) + ")");
                case ROOT -> "runs as root: high privileges (" + String.join("; ", reasons) + ")";
            };
        }
    }

    private ConfinementProbe() {
    }

    /**
     * Checks the daemon's uid, the user, that setpriv can switch to it, that the state directory's filesystem
     * takes ACLs, and that {@code qemu} has a seccomp sandbox.
     */
    public static Result probe(String userName, Path stateDir, Path qemu) {
        List<String> reasons = new ArrayList<>();
        boolean root = isRoot();
        if (!sandboxAvailable(qemu)) {
            reasons.add(qemu + " has no -sandbox (built without seccomp)");
        }
        if (!root) {
            return new Result(Mode.DAEMON_USER, null, List.copyOf(reasons));
        }
        Optional<QemuUser> user = QemuUser.lookup(userName);
        if (user.isEmpty()) {
            reasons.add("no user " + userName + "; create it: useradd --system --no-create-home --shell /usr/sbin/nologin " + userName);
        } else {
            reasons.addAll(switchProblems(user.get(), stateDir));
        }
        return reasons.isEmpty() ? new Result(Mode.CONFINED, user.get(), List.of()) : new Result(Mode.ROOT, null, reasons);
    }

    /**
     * The same checks for an identity given by number (a per-VM uid of {@code --qemu-uids}: no passwd entry);
     * {@code sample} is the first uid of the range.
     */
    public static Result probe(QemuUser sample, Path stateDir, Path qemu) {
        List<String> reasons = new ArrayList<>();
        if (!sandboxAvailable(qemu)) {
            reasons.add(qemu + " has no -sandbox (built without seccomp)");
        }
        if (!isRoot()) {
            return new Result(Mode.DAEMON_USER, null, List.copyOf(reasons));
        }
        reasons.addAll(switchProblems(sample, stateDir));
        return reasons.isEmpty() ? new Result(Mode.CONFINED, sample, List.of()) : new Result(Mode.ROOT, null, reasons);
    }

    /** What stops QEMU from running as {@code u}: setpriv cannot switch, or the state directory takes no ACLs. */
    private static List<String> switchProblems(QemuUser u, Path stateDir) {
        List<String> reasons = new ArrayList<>();
        List<String> check = new ArrayList<>(QemuConfinement.prefix(u));
        check.add("true");
        Tool.Result r = Tool.run(check, 10);
        if (!r.ok()) {
            reasons.add("cannot switch to " + u.name() + " with setpriv (util-linux): " + r.describe());
        }
        String acl = aclProblem(stateDir, u);
        if (acl != null) {
            reasons.add(acl);
        }
        return reasons;
    }

    private static boolean isRoot() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean sandboxAvailable(Path qemu) {
        Tool.Result r = Tool.run(List.of(qemu.toString(), "-help"), 20);
        return r.ok() && r.stdout().contains("-sandbox");
    }

    /** null if a file in the state directory takes an ACL entry for the user. */
    private static String aclProblem(Path stateDir, QemuUser u) {
        Path probe = null;
        try {
            Files.createDirectories(stateDir);
            probe = Files.createTempFile(stateDir, ".acl-probe", "");
            Tool.Result r = Tool.run(List.of("setfacl", "-m", "u:" + u.uid() + ":r--", probe.toString()), 10);
            return r.ok() ? null : "cannot set POSIX ACLs in " + stateDir + " (install 'acl', or a filesystem with ACLs): " + r.describe();
        } catch (IOException e) {
            return "cannot probe ACLs in " + stateDir + ": " + e.getMessage();
        } finally {
            if (probe != null) {
                try {
                    Files.deleteIfExists(probe);
                } catch (IOException ignored) {
                    // a stray empty probe file; harmless
                }
            }
        }
    }
}
