package io.jvirt.vm;

import io.jvirt.qemu.QemuLaunchSpec;
import io.jvirt.qemu.QemuPaths;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * What a VM's QEMU may touch and who it runs as, provided by io.jvirt.confine (docs/security.md) so that this
 * package never depends on it. The VM layer calls it at define (paths, sharing), before QEMU starts (chains read
 * again, identity, grants), when QEMU is given a file later ({@link VmJobContext#grantToQemu}), after QEMU ended
 * (release) and after a daemon restart (reconcile).
 */
public interface Confinement {

    /** How a running QEMU may use a file it is given. */
    enum Access { READ, WRITE }

    /**
     * Checks every file a definition names (disks with their backing chains, kernel, initrd) against the path
     * policy and returns the definition with their real paths; throws {@code path-not-allowed} naming the rule.
     */
    VmDefinition checkFiles(VmDefinition d);

    /** Refuses ({@code disk-in-use}) a writable image of {@code d} that another VM opens (any layer of its disks). */
    void checkSharing(VmDefinition d, Collection<VmDefinition> others);

    /**
     * Just before QEMU starts (its files exist, see {@code QemuInstance.prepareFiles}): reads the chains again,
     * gives the VM its QEMU identity and grants it its files, recorded durably first. Returns how to launch.
     */
    Launch prepare(VmDefinition d, QemuPaths paths);

    /**
     * A disk a running QEMU is given live (hotplug's attach-disk), checked as start checks it: {@code layers} its
     * checked chain, top first (real paths); {@code nodes} the explicit blockdev-add nodes of the whole chain as
     * JSON, base first, named as at start (file-ID, fmt-ID, file-ID-1...). Null: no explicit chain (no
     * confinement installed), the caller adds a file and a format node as they are.
     */
    record DiskChain(List<Path> layers, List<String> nodes) {
        public DiskChain {
            layers = List.copyOf(layers);
            nodes = List.copyOf(nodes);
        }
    }

    /** The checked chain of disk {@code disk} of {@code d} (path policy, ImageChains); throws path-not-allowed. */
    default DiskChain diskChain(VmDefinition d, String disk) {
        return null;
    }

    /**
     * A file jvirt is about to create for QEMU (a block-copy destination), checked before it is created: its
     * directory must lie where a disk may. Returns its real path to be; throws path-not-allowed naming the rule.
     */
    default Path checkNewFile(String field, Path path) {
        return path;
    }

    /** A running VM's QEMU gets one more file (overlay, copy destination, memory file), before it opens it. */
    void grant(String vm, Path file, Access access);

    /**
     * Several files at once, with one durable record (and one ACL read and write) instead of one per file: what a
     * caller giving QEMU a set of files (a migration's TLS credentials) waits for once.
     */
    default void grant(String vm, java.util.List<Path> files, Access access) {
        for (Path f : files) {
            grant(vm, f, access);
        }
    }

    /** Takes back what {@code vm}'s QEMU was given and frees its identity (QEMU ended or never started). */
    void release(String vm);

    /** After a restart, once running QEMUs are adopted: everything of a VM not in {@code live} is released. */
    void reconcile(Set<String> live);

    /** The uid {@code vm}'s QEMU runs as while it runs (its taps are made for it); empty: the daemon's own. */
    OptionalInt uid(String vm);

    /** For {@code GET /v1/host}: mode, summary, {@code highPrivileges}. */
    Map<String, Object> describe();

    /**
     * The launch: {@code prefix} runs QEMU as its identity (e.g. setpriv ...), {@code suffix} ends its command
     * line (-sandbox ...), {@code blockdevs} per disk name the explicit -blockdev arguments of its whole chain.
     */
    record Launch(List<String> prefix, List<String> suffix, Map<String, List<String>> blockdevs) {
        public static final Launch PLAIN = new Launch(List.of(), List.of(), Map.of());

        public QemuLaunchSpec.Confined confined() {
            return prefix.isEmpty() && suffix.isEmpty() ? null : new QemuLaunchSpec.Confined(prefix, suffix);
        }
    }

    /** Without io.jvirt.confine (unit tests of the VM layer): files checked for existence only, QEMU as the daemon. */
    Confinement NONE = new Confinement() {
        @Override
        public VmDefinition checkFiles(VmDefinition d) {
            DefinitionValidator.checkFilesStillExist(d);
            return d;
        }

        @Override
        public void checkSharing(VmDefinition d, Collection<VmDefinition> others) {
        }

        @Override
        public Launch prepare(VmDefinition d, QemuPaths paths) {
            return Launch.PLAIN;
        }

        @Override
        public void grant(String vm, Path file, Access access) {
        }

        @Override
        public void release(String vm) {
        }

        @Override
        public void reconcile(Set<String> live) {
        }

        @Override
        public OptionalInt uid(String vm) {
            return OptionalInt.empty();
        }

        @Override
        public Map<String, Object> describe() {
            return Map.of("mode", "root", "summary", "runs as root: high privileges (no confinement installed)",
                    "highPrivileges", true);
        }
    };
}
