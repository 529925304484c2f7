package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.storage.QemuImg;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Prepare's refusals on the destination: what this host cannot take, checked before anything is changed. */
final class PrepareChecks {
    private PrepareChecks() {
    }

    static void checkHostable(VmManager vms, QemuImg qemuImg, PeerMessages.Prepare req) {
        VmDefinition d = req.definition();
        if (vms.definitions().stream().anyMatch(x -> x.name().equals(d.name()))) {
            throw new JvirtException(ErrorCode.VM_EXISTS, "a VM named '" + d.name() + "' is already defined on this host",
                    Map.of("vm", d.name()));
        }
        vms.definitions().stream().filter(x -> x.uuid().equals(d.uuid())).findFirst().ifPresent(x -> {
            throw new JvirtException(ErrorCode.VM_EXISTS, "VM '" + x.name() + "' on this host already has uuid " + d.uuid(),
                    Map.of("vm", x.name(), "uuid", d.uuid()));
        });
        if (d.emulator() != null && !Files.isExecutable(Path.of(d.emulator()))) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, "this host has no emulator " + d.emulator(),
                    Map.of("emulator", d.emulator()));
        }
        if (req.postcopy()) {
            PostcopyTarget.checkHost();
        }
        long availableMiB = HostMemory.availableMiB();
        if (d.memoryMiB() != null && availableMiB >= 0 && d.memoryMiB() > availableMiB) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "this host has " + availableMiB + " MiB available, the VM"
                    + " needs " + d.memoryMiB() + " MiB", Map.of("vm", d.name()));
        }
        for (VmDefinition.Disk disk : d.disks()) {
            var copy = req.copied().stream().filter(c -> c.name().equals(disk.name())).findFirst();
            if (copy.isPresent() && copy.get().backing() != null) {
                checkBase(qemuImg, copy.get());
            }
            boolean copied = copy.isPresent();
            if (!copied && !Files.exists(Path.of(disk.path()))) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "disk " + disk.name() + " (" + disk.path() + ") is not"
                        + " shared: this host does not see it; migrate with --copy-storage-all", Map.of("disk", disk.name()));
            }
        }
    }

    /**
     * {@code --copy-storage-inc}: the base must be here at the same path, of the same format and size (checked;
     * its contents are the operator's promise, as with libvirt: comparing them would read the whole image).
     */
    private static void checkBase(QemuImg qemuImg, PeerMessages.CopiedDisk c) {
        Path base = Path.of(c.backing());
        if (!Files.isRegularFile(base)) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "disk " + c.name() + ": the base image " + base + " that"
                    + " --copy-storage-inc needs is not on this host", Map.of("disk", c.name(), "base", base.toString()));
        }
        QemuImg.Image here = qemuImg.image(base, c.backingFormat());
        if (c.backingSize() != null && here.virtualSize() != c.backingSize()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "disk " + c.name() + ": the base image " + base + " here is "
                    + here.virtualSize() + " bytes, the source's " + c.backingSize() + ": not the same base",
                    Map.of("disk", c.name(), "base", base.toString()));
        }
    }
}
