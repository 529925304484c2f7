package io.jvirt.hotplug;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.HotplugArgs;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorEvent;
import io.jvirt.qemu.monitor.Subscription;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unplugs, which the guest completes: the unplug is recorded as pending (durably) before device_del, then
 * DEVICE_DELETED finishes it (backend, nodes or netdev removed, the live record and, for config, the definition
 * updated). If the guest has not answered within the timeout the job ends with a timeout error and the unplug
 * stays pending: a later DEVICE_DELETED, also one a restarted daemon finds already happened, finishes it.
 */
final class Unplugs {
    private static final Logger log = LoggerFactory.getLogger(Unplugs.class);
    private final VmManager vms;
    private final LiveState state;
    /** Per QEMU (its monitor): the subscription that finishes pending unplugs whose job gave up waiting. */
    private final Map<Monitor, Subscription> watched = new ConcurrentHashMap<>();

    Unplugs(VmManager vms, LiveState state) {
        this.vms = vms;
        this.state = state;
    }

    static String deviceOf(String kind, String name) {
        return switch (kind) {
            case "memory" -> HotplugArgs.memoryDeviceId(name);
            case "disk" -> BlockGraph.deviceId(name);
            case "nic" -> name;
            default -> name; // vcpu: its QOM path
        };
    }

    /** A memory device, disk or NIC: refused for what cannot go live, else unplugged and waited for. */
    HotplugService.Outcome detach(VmJobContext ctx, HotplugService.Plan p, String kind, String name) {
        VmDefinition live = p.record().live();
        if ("disk".equals(kind)) {
            VmDefinition.Disk disk = live.requireDisk(name);
            boolean bootsFromDisk = live.boot() == null || live.boot().kernel() == null;
            if (bootsFromDisk && live.diskList().getFirst().name().equals(name)) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "disk " + name + " is the disk VM '" + ctx.vmName()
                        + "' boots from: a live detach would pull it from under the running system, so it is refused; "
                        + "detach it with config (the next boot goes without it)", Map.of("vm", ctx.vmName(), "disk", name));
            }
            if (!"virtio".equals(disk.bus())) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "disk " + name + " is on bus " + disk.bus()
                        + ", which cannot be unplugged live: detach it with config", Map.of("disk", name));
            }
        }
        String device = deviceOf(kind, name);
        boolean pci = !"memory".equals(kind) || !live.hotplugOrEmpty().findMemoryDevice(name).map(Hotplug.MemoryDevice::dimm).orElse(true);
        if (pci && HotplugArgs.hasPorts(live.machine()) && !live.hotplugOrEmpty().ports().containsKey(device)) {
            throw new JvirtException(ErrorCode.INVALID_STATE, kind + " " + name + " of VM '" + ctx.vmName() + "' was plugged "
                    + "at boot on q35's root bus, which cannot unplug a device (only hot-plug ports can); detach it with "
                    + "config (the next boot goes without it)", Map.of("vm", ctx.vmName(), "device", device));
        }
        return unplug(ctx, p, kind, name, device);
    }

    void detachVcpu(VmJobContext ctx, HotplugService.Plan p, String qomPath) {
        unplug(ctx, p, "vcpu", qomPath, qomPath);
    }

    private HotplugService.Outcome unplug(VmJobContext ctx, HotplugService.Plan p, String kind, String name, String device) {
        String vm = ctx.vmName();
        Monitor m = p.monitor();
        LiveRecord.PendingUnplug pending = new LiveRecord.PendingUnplug(kind, name, device, Instant.now(), p.scope().config());
        List<LiveRecord.PendingUnplug> all = new ArrayList<>(state.read(vm, p.qemu(), p.record().live()).pending());
        all.removeIf(x -> x.device().equals(device));
        all.add(pending);
        state.write(vm, state.read(vm, p.qemu(), p.record().live()).withPending(all)); // durable before device_del
        Fault.point("hotplug", "unplug-requested", ctx.qemuPid());
        UnplugWait.Result r;
        try {
            r = UnplugWait.unplug(m, device, "vcpu".equals(kind), () -> m.device().deviceDel(device), p.timeout(),
                    ctx.job().cancellation());
        } catch (RuntimeException e) { // QEMU refused device_del: nothing was asked of the guest
            dropPending(vm, p.qemu(), device);
            throw e;
        }
        switch (r.outcome()) {
            case DELETED -> {
                release(m, kind, name, vm, p.record().live());
                dropPending(vm, p.qemu(), device);
                if ("vcpu".equals(kind)) {
                    state.write(vm, state.read(vm, p.qemu(), null).withVcpuUnplugged());
                }
                return new HotplugService.Outcome(p.live(), Map.of(kind, name, "guestMs", r.millis()));
            }
            case REFUSED -> {
                dropPending(vm, p.qemu(), device);
                throw new JvirtException(ErrorCode.GUEST_REFUSED, "VM '" + vm + "': " + r.detail() + "; " + kind + " " + name
                        + " stays plugged and defined", Map.of("vm", vm, "device", device));
            }
            case QEMU_GONE -> throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU of VM '" + vm + "' ended during the unplug");
            default -> {
                watch(vm, m);
                throw new JvirtException(ErrorCode.TIMEOUT, "VM '" + vm + "': " + r.detail() + " (" + kind + " " + name
                        + "); the unplug stays pending and completes when the guest releases it (DEVICE_DELETED), also "
                        + "after a daemon restart; until then it is still plugged and defined", Map.of("vm", vm, "device", device));
            }
        }
    }

    /** After DEVICE_DELETED: what the device leaves behind in QEMU and on the host. */
    void release(Monitor m, String kind, String name, String vm, VmDefinition live) {
        switch (kind) {
            case "memory" -> LiveApply.releaseMemory(m, name);
            case "disk" -> LiveApply.releaseDisk(m, name, live.findDisk(name).map(VmDefinition.Disk::path).orElse(null));
            case "nic" -> {
                LiveApply.releaseNic(m, name);
                vms.nicPlumbing().releaseOne(vm, name);
            }
            default -> { }
        }
    }

    private void dropPending(String vm, QemuInstance q, String device) {
        LiveRecord now = state.read(vm, q, null);
        List<LiveRecord.PendingUnplug> rest = now.pending().stream().filter(x -> !x.device().equals(device)).toList();
        state.write(vm, now.withPending(rest));
    }

    /** Finishes this QEMU's pending unplugs when their DEVICE_DELETED comes (once per monitor). */
    void watch(String vm, Monitor m) {
        watched.computeIfAbsent(m, mon -> {
            mon.closed().thenRun(() -> watched.remove(mon));
            return mon.on(MonitorEvent.DEVICE_DELETED, e -> Thread.ofVirtual().name("unplug-" + vm).start(
                    () -> finishLater(vm, e.device(), e.path())));
        });
    }

    /** A DEVICE_DELETED after the job gave up: finish the pending unplug it names, as a job of the VM. */
    private void finishLater(String vm, String device, String path) {
        try {
            vms.runJob(vm, HotplugJob.FINISH_UNPLUG, Duration.ofMinutes(2), ctx -> {
                QemuInstance q = ctx.qemu().orElse(null);
                if (q == null) {
                    return null;
                }
                LiveRecord r = state.read(vm, q, ctx.definition());
                for (LiveRecord.PendingUnplug p : r.pending()) {
                    if (UnplugWait.ends(p.device(), "vcpu".equals(p.kind()), device, path)) {
                        finish(ctx, q, p);
                    }
                }
                return null;
            });
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot finish the unplug of {}: {}", vm, device.isEmpty() ? path : device, e.getMessage());
        }
    }

    /** The guest released {@code p}'s device: release what it leaves, update the live record and maybe the definition. */
    void finish(VmJobContext ctx, QemuInstance q, LiveRecord.PendingUnplug p) {
        String vm = ctx.vmName();
        LiveRecord r = state.read(vm, q, ctx.definition());
        release(q.monitor(), p.kind(), p.name(), vm, r.live());
        VmDefinition live = switch (p.kind()) {
            case "memory" -> r.live().hotplugOrEmpty().findMemoryDevice(p.name()).isPresent()
                    ? DefinitionEdits.removeMemoryDevice(r.live(), p.name()) : r.live();
            case "disk" -> r.live().findDisk(p.name()).isPresent() ? DefinitionEdits.removeDisk(r.live(), p.name()) : r.live();
            case "nic" -> r.live().nicList().stream().anyMatch(n -> n.name().equals(p.name()))
                    ? DefinitionEdits.removeNic(r.live(), p.name()) : r.live();
            default -> r.live().withVcpus((int) q.monitor().device().queryHotpluggableCpus().stream()
                    .filter(io.jvirt.qemu.monitor.DeviceReplies.HotpluggableCpu::plugged).count());
        };
        LiveRecord done = r.withLive(live).withPending(r.pending().stream().filter(x -> !x.device().equals(p.device())).toList());
        state.write(vm, "vcpu".equals(p.kind()) ? done.withVcpuUnplugged() : done);
        if (p.config()) {
            VmDefinition d = ctx.definition();
            VmDefinition changed = switch (p.kind()) {
                case "memory" -> d.hotplugOrEmpty().findMemoryDevice(p.name()).isPresent() ? DefinitionEdits.removeMemoryDevice(d, p.name()) : d;
                case "disk" -> d.findDisk(p.name()).isPresent() ? DefinitionEdits.removeDisk(d, p.name()) : d;
                case "nic" -> d.nicList().stream().anyMatch(n -> n.name().equals(p.name())) ? DefinitionEdits.removeNic(d, p.name()) : d;
                default -> d.withVcpus(live.vcpus());
            };
            if (changed != d) {
                ctx.redefine(changed);
            }
        }
        log.info("VM {}: unplug of {} {} finished (the guest released it)", vm, p.kind(), p.name());
    }

    /** For a view: the VM's QEMU and its pending unplugs. */
    List<LiveRecord.PendingUnplug> pending(LiveVm l) {
        return l.hasQemu() ? state.read(l.name(), l.qemu(), l.definition()).pending() : List.of();
    }
}
