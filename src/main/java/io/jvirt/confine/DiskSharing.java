package io.jvirt.confine;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Two VMs never open one writable image: the writable top of a disk may not be any layer (top or backing) of
 * any other disk, of another VM or of the same one. Read-only sharing (one base under many overlays, an ISO in
 * two VMs) is fine. Pure: callers pass the chains they read ({@link ImageChains}, real paths), at define and
 * again at start, since images change in between. This is on top of QEMU's own image locking, which only
 * protects images of QEMUs that are running and cooperating.
 */
public final class DiskSharing {
    private DiskSharing() {
    }

    /** One disk of a VM: its checked chain and whether the guest may write it. */
    public record Disk(String name, ImageChain chain, boolean readOnly) {
    }

    public record VmDisks(String vm, List<Disk> disks) {
        public VmDisks {
            disks = List.copyOf(disks);
        }
    }

    /** A writable image that another disk also uses. */
    public record Conflict(String vm, String disk, Path path, String otherVm, String otherDisk, int otherLayer) {
        public String describe() {
            String where = otherLayer == 0 ? "as its disk " + otherDisk : "as layer " + otherLayer + " of the backing chain of its disk " + otherDisk;
            return "disk " + disk + " of VM '" + vm + "' (" + path + ") is writable, and VM '" + otherVm + "' uses it " + where;
        }
    }

    /** Refuses {@code candidate} (being defined or started) if it shares a writable image with itself or {@code others}. */
    public static void check(VmDisks candidate, Collection<VmDisks> others) {
        List<Conflict> found = conflicts(candidate, others);
        if (!found.isEmpty()) {
            Conflict c = found.get(0);
            boolean mine = c.vm().equals(candidate.vm());
            // details name the rival (for a disk used twice by one VM, that VM)
            throw new JvirtException(ErrorCode.DISK_IN_USE, c.describe(), Map.of(
                    "vm", mine ? c.otherVm() : c.vm(), "disk", mine ? c.otherDisk() : c.disk(), "path", c.path().toString()));
        }
    }

    /** Every conflict of {@code candidate} with itself and with {@code others} (other VMs of another name). */
    public static List<Conflict> conflicts(VmDisks candidate, Collection<VmDisks> others) {
        List<Conflict> out = new ArrayList<>();
        for (int i = 0; i < candidate.disks().size(); i++) {
            for (int j = 0; j < candidate.disks().size(); j++) {
                if (i != j) {
                    collect(candidate, candidate.disks().get(i), candidate, candidate.disks().get(j), out);
                }
            }
        }
        for (VmDisks other : others) {
            if (other.vm().equals(candidate.vm())) {
                continue;
            }
            for (Disk mine : candidate.disks()) {
                for (Disk theirs : other.disks()) {
                    collect(candidate, mine, other, theirs, out); // my writable top is something of theirs
                    collect(other, theirs, candidate, mine, out); // their writable top is in my chain
                }
            }
        }
        return out;
    }

    private static void collect(VmDisks writerVm, Disk writer, VmDisks userVm, Disk user, List<Conflict> out) {
        Path top = writer.chain().top().path();
        List<Path> layers = user.chain().paths();
        if (!writer.readOnly() && layers.contains(top)) {
            out.add(new Conflict(writerVm.vm(), writer.name(), top, userVm.vm(), user.name(), layers.indexOf(top)));
        }
        // the writer's backing layers are read-only: only its top matters
    }
}
