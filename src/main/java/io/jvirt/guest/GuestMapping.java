package io.jvirt.guest;

import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.GuestAgentReplies;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.StatsReplies;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names what the guest reports as jvirt names it. A disk under a filesystem is found by the PCI address of its
 * controller: the guest and QEMU read the same configuration space, so the address the agent reports is the one
 * {@code query-pci} gives the device {@code disk-<name>} (bridges included); a disk whose serial is a jvirt disk
 * name is taken by its serial. An interface is the NIC with its MAC.
 */
final class GuestMapping {
    private static final Logger log = LoggerFactory.getLogger(GuestMapping.class);
    private final VmManager vms;

    GuestMapping(VmManager vms) {
        this.vms = vms;
    }

    List<GuestViews.Filesystem> filesystems(String vm, List<GuestAgentReplies.Filesystem> fs) {
        LiveVm live = vms.live(vm);
        Map<String, String> diskByPci = disksByPciAddress(live);
        List<GuestViews.Filesystem> out = new ArrayList<>();
        for (GuestAgentReplies.Filesystem f : fs) {
            List<GuestViews.FsDisk> disks = new ArrayList<>();
            for (GuestAgentReplies.FsDisk d : f.disk()) {
                String pci = d.pciController() == null ? null : pciAddress(d.pciController());
                String disk = pci == null ? null : diskByPci.get(pci);
                if (disk == null && d.serial() != null && live.definition().findDisk(d.serial()).isPresent()) {
                    disk = d.serial();
                }
                disks.add(new GuestViews.FsDisk(disk, d.dev(), d.busType(), d.serial(), pci));
            }
            out.add(new GuestViews.Filesystem(f.mountpoint(), f.name(), f.type(), f.usedBytes(), f.totalBytes(), disks));
        }
        return out;
    }

    List<GuestViews.Interface> interfaces(String vm, List<GuestAgentReplies.Interface> nics) {
        Map<String, String> nicByMac = new HashMap<>();
        for (VmDefinition.Nic n : vms.live(vm).definition().nics()) {
            if (n.mac() != null) {
                nicByMac.put(n.mac().toLowerCase(Locale.ROOT), n.name());
            }
        }
        List<GuestViews.Interface> out = new ArrayList<>();
        for (GuestAgentReplies.Interface i : nics) {
            String mac = i.hardwareAddress() == null ? null : i.hardwareAddress().toLowerCase(Locale.ROOT);
            List<GuestViews.Address> addresses = i.ipAddresses().stream()
                    .map(a -> new GuestViews.Address(a.ipAddress(), a.ipAddressType(), a.prefix())).toList();
            out.add(new GuestViews.Interface(i.name(), mac, mac == null ? null : nicByMac.get(mac), addresses,
                    i.statistics()));
        }
        return out;
    }

    /** PCI address (dddd:bb:ss.f) -> jvirt disk name, from QEMU's view of the bus. */
    private static Map<String, String> disksByPciAddress(LiveVm live) {
        Map<String, String> byId = new HashMap<>();
        for (VmDefinition.Disk d : live.definition().diskList()) {
            byId.put(BlockGraph.deviceId(d.name()), d.name());
        }
        Map<String, String> out = new HashMap<>();
        if (!live.hasQemu()) {
            return out;
        }
        try {
            for (StatsReplies.PciDevice p : live.qemu().monitor().stats().queryPci()) {
                String disk = p.qdevId() == null ? null : byId.get(p.qdevId());
                if (disk != null) {
                    out.put(pciAddress(new GuestAgentReplies.PciAddress(0, p.bus(), p.slot(), p.function())), disk);
                }
            }
        } catch (MonitorException e) {
            log.debug("VM {}: query-pci failed, filesystems keep the guest's device names: {}", live.name(), e.toString());
        }
        return out;
    }

    static String pciAddress(GuestAgentReplies.PciAddress a) {
        return String.format(Locale.ROOT, "%04x:%02x:%02x.%x", a.domain(), a.bus(), a.slot(), a.function());
    }
}
