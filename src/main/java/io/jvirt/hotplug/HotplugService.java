package io.jvirt.hotplug;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.vm.DefinitionValidator;
import io.jvirt.vm.Hotplug;
import io.jvirt.vm.PendingJob;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmState;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Changing a VM's memory, vCPUs, disks, NICs and IOThreads, live and/or for the next boot (docs/hotplug.md). Each
 * change is a job of the VM: admitted on the request thread (scope resolved, both edits validated, nothing changed
 * on a refusal), then the live step ({@link LiveSteps}) recorded durably before it acts, then the stored
 * definition. {@link #view} reports what QEMU plugged and what the guest onlined; {@link #liveDefinition} is what
 * a migration starts its destination from.
 */
public final class HotplugService {
    static final int DEFAULT_TIMEOUT_SECONDS = 30;
    private final VmManager vms;
    private final LiveState state;
    private final LiveSteps steps;
    private final Unplugs unplugs;
    private final HotplugRecovery recovery;
    private final LiveView views;

    /** {@code guestResources}: what the guest's agent says it has online (empty without an agent answer). */
    public HotplugService(VmManager vms, Function<String, Optional<io.jvirt.guest.GuestViews.Resources>> guestResources) {
        this.vms = vms;
        this.state = new LiveState(vms.store());
        this.unplugs = new Unplugs(vms, state);
        this.steps = new LiveSteps(vms, state, unplugs);
        this.recovery = new HotplugRecovery(vms, state, unplugs);
        this.views = new LiveView(vms, state, guestResources);
        for (HotplugJob kind : HotplugJob.values()) {
            vms.registerRecovery(kind, recovery::recoverInterrupted);
        }
        vms.addListener(e -> {
            if ("lifecycle".equals(e.type()) && VmState.RUNNING.wire().equals(e.state()) && "booted".equals(e.reason())) {
                recovery.onBooted(e.vm());
            }
        });
    }

    /** After {@code vms.startRecovery()} completed: re-reads what each adopted QEMU has plugged and finishes pending unplugs. */
    public void recoverAll() {
        recovery.recoverAll();
    }

    /** The outcome of a change: where it went and what QEMU and the guest show now. */
    public record Result(String vm, String change, String scope, boolean live, boolean config, Map<String, Object> details) {
    }

    /** What the live step of a change did: the live definition now, what to report, whether config may follow now. */
    record Outcome(VmDefinition live, Map<String, Object> details, boolean configNow) {
        Outcome(VmDefinition live, Map<String, Object> details) {
            this(live, details, true);
        }
    }

    /** A change admitted: its scope, the live record and both edited definitions (null where not in scope). */
    record Plan(Scope scope, LiveRecord record, VmDefinition live, VmDefinition config, QemuInstance qemu, Duration timeout) {
        Monitor monitor() {
            return qemu.monitor();
        }
    }

    @FunctionalInterface
    interface LiveStep {
        Outcome apply(VmJobContext ctx, Plan plan);
    }

    // ---- memory -------------------------------------------------------------------------------------------------

    public PendingJob<Result> attachMemory(String vm, Requests.MemoryAttach r, String opId, Duration queue) {
        Hotplug.MemoryDevice m = new Hotplug.MemoryDevice(r.id(), r.kind(), r.sizeMiB(), r.node(), r.requestedMiB());
        return change(vm, HotplugJob.MEMORY_ATTACH, r.id(), r.options(), opId, queue,
                d -> DefinitionEdits.addMemoryDevice(d, m), d -> DefinitionEdits.addMemoryDevice(d, m), steps::attachMemory);
    }

    public PendingJob<Result> detachMemory(String vm, String id, Requests.Options o, String opId, Duration queue) {
        return change(vm, HotplugJob.MEMORY_DETACH, id, o, opId, queue,
                d -> DefinitionEdits.removeMemoryDevice(d, id), d -> DefinitionEdits.removeMemoryDevice(d, id),
                (ctx, p) -> unplugs.detach(ctx, p, "memory", id));
    }

    public PendingJob<Result> resizeMemory(String vm, String id, Requests.MemoryResize r, String opId, Duration queue) {
        int mib = require(r.requestedMiB(), "requestedMiB");
        return change(vm, HotplugJob.MEMORY_RESIZE, id, r.options(), opId, queue,
                d -> DefinitionEdits.resizeMemoryDevice(d, id, mib), d -> DefinitionEdits.resizeMemoryDevice(d, id, mib),
                (ctx, p) -> steps.resizeMemory(ctx, p, id, mib));
    }

    /** The balloon's target live (the boot memory stays what QEMU has); the boot memory with config. */
    public PendingJob<Result> setMemory(String vm, Requests.SetMemory r, String opId, Duration queue) {
        int mib = require(r.memoryMiB(), "memoryMiB");
        return change(vm, HotplugJob.SETMEM, Integer.toString(mib), r.options(), opId, queue,
                d -> d, d -> d.withMemory(mib), (ctx, p) -> steps.balloon(ctx, p, mib));
    }

    // ---- vCPUs --------------------------------------------------------------------------------------------------

    public PendingJob<Result> setVcpus(String vm, Requests.SetVcpus r, String opId, Duration queue) {
        int n = require(r.vcpus(), "vcpus");
        UnaryOperator<VmDefinition> edit = d -> {
            int max = d.hotplugOrEmpty().maxVcpus() == null ? d.vcpus() : d.hotplugOrEmpty().maxVcpus();
            if (n < 1 || n > max) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "vcpus must be between 1 and the VM's maxVcpus "
                        + max + ", got " + n, Map.of("vm", d.name()));
            }
            return d.withVcpus(n);
        };
        return change(vm, HotplugJob.SETVCPUS, Integer.toString(n), r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.setVcpus(ctx, p, n));
    }

    public PendingJob<Result> pinVcpu(String vm, int vcpu, Requests.Pin r, String opId, Duration queue) {
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.pinVcpu(d, vcpu, r.cpus());
        return change(vm, HotplugJob.PIN, "vcpu" + vcpu, r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.pinVcpu(ctx, p, vcpu, r.cpus()));
    }

    public PendingJob<Result> pinEmulator(String vm, Requests.Pin r, String opId, Duration queue) {
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.withHotplug(d, h -> h.withEmulatorPinning(r.cpus()));
        return change(vm, HotplugJob.PIN, "emulator", r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.pinEmulator(ctx, p, r.cpus()));
    }

    // ---- disks and NICs -----------------------------------------------------------------------------------------

    public PendingJob<Result> attachDisk(String vm, Requests.DiskAttach r, String opId, Duration queue) {
        if (r.target() == null || r.path() == null) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "target (e.g. vdb) and path (or volume POOL/VOL) are needed");
        }
        VmDefinition.Disk disk = new VmDefinition.Disk(r.target(), r.path(), r.format() == null ? "raw" : r.format(), "virtio",
                Boolean.TRUE.equals(r.readOnly()), r.iothread());
        UnaryOperator<VmDefinition> edit = d -> {
            VmDefinition out = DefinitionEdits.addDisk(d, disk);
            vms.confinement().checkSharing(out, vms.definitions()); // a writable image another VM (or this one) uses, in any layer: disk-in-use
            return out;
        };
        return change(vm, HotplugJob.DISK_ATTACH, r.target(), r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.attachDisk(ctx, p, r.target()));
    }

    public PendingJob<Result> detachDisk(String vm, String target, Requests.Options o, String opId, Duration queue) {
        return change(vm, HotplugJob.DISK_DETACH, target, o, opId, queue,
                d -> DefinitionEdits.removeDisk(d, target), d -> DefinitionEdits.removeDisk(d, target),
                (ctx, p) -> unplugs.detach(ctx, p, "disk", target));
    }

    public PendingJob<Result> attachNic(String vm, Requests.NicAttach r, String opId, Duration queue) {
        // one MAC and name for both edits (the validator would pick a random MAC for each)
        String mac = r.mac() == null ? DefinitionValidator.randomMac() : r.mac();
        String name = r.name() == null ? nextNicName(vms.live(vm).definition()) : r.name();
        VmDefinition.Nic nic = new VmDefinition.Nic(name, r.type(), r.model(), mac, r.network(), r.bridge(), r.forwards(), null);
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.addNic(d, nic);
        return change(vm, HotplugJob.NIC_ATTACH, name, r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.attachNic(ctx, p, name));
    }

    public PendingJob<Result> detachNic(String vm, String nic, Requests.Options o, String opId, Duration queue) {
        return change(vm, HotplugJob.NIC_DETACH, nic, o, opId, queue,
                d -> DefinitionEdits.removeNic(d, nic), d -> DefinitionEdits.removeNic(d, nic),
                (ctx, p) -> unplugs.detach(ctx, p, "nic", nic));
    }

    // ---- IOThreads ----------------------------------------------------------------------------------------------

    public PendingJob<Result> addIothread(String vm, Requests.IothreadAdd r, String opId, Duration queue) {
        Hotplug.IoThread t = new Hotplug.IoThread(r.id(), r.pinning(), r.pollMaxNs());
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.addIothread(d, t);
        return change(vm, HotplugJob.IOTHREAD_ADD, r.id(), r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.addIothread(ctx, p, r.id()));
    }

    public PendingJob<Result> deleteIothread(String vm, String id, Requests.Options o, String opId, Duration queue) {
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.removeIothread(d, id);
        return change(vm, HotplugJob.IOTHREAD_DEL, id, o, opId, queue, edit, edit, (ctx, p) -> steps.deleteIothread(ctx, p, id));
    }

    public PendingJob<Result> setIothread(String vm, String id, Requests.IothreadSet r, String opId, Duration queue) {
        if (r.pollMaxNs() == null) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "pollMaxNs is needed");
        }
        long ns = r.pollMaxNs();
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.changeIothread(d, id, t -> t.withPollMaxNs(ns));
        return change(vm, HotplugJob.IOTHREAD_SET, id, r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.setIothread(ctx, p, id, ns));
    }

    public PendingJob<Result> pinIothread(String vm, String id, Requests.Pin r, String opId, Duration queue) {
        UnaryOperator<VmDefinition> edit = d -> DefinitionEdits.changeIothread(d, id, t -> t.withPinning(r.cpus()));
        return change(vm, HotplugJob.PIN, id, r.options(), opId, queue, edit, edit,
                (ctx, p) -> steps.pinIothread(ctx, p, id, r.cpus()));
    }

    // ---- reads --------------------------------------------------------------------------------------------------

    /** Memory, vCPUs, IOThreads, devices: what is defined, what QEMU plugged, what the guest onlined. Never waits for a job. */
    public Map<String, Object> view(String vm) {
        return views.view(vm);
    }

    /**
     * For live migration (issue 14): the definition that starts a QEMU identical to the running one (plugged
     * DIMMs and virtio-mem devices with their sizes, vCPUs, hot-added disks and NICs on the same ports,
     * IOThreads). Start the destination from it (VmJobContext's incoming start, or LaunchSpecs + QemuCommandLine).
     * Empty when the VM does not run.
     */
    public Optional<VmDefinition> liveDefinition(String vm) {
        io.jvirt.vm.LiveVm l = vms.live(vm);
        if (!l.hasQemu()) {
            return Optional.empty();
        }
        return Optional.of(state.read(vm, l.qemu(), l.definition()).live());
    }

    // ---- the one way a change runs ------------------------------------------------------------------------------

    private PendingJob<Result> change(String vm, HotplugJob kind, String subject, Requests.Options options, String opId,
                                      Duration queue, UnaryOperator<VmDefinition> liveEdit,
                                      UnaryOperator<VmDefinition> configEdit, LiveStep step) {
        Requests.Options o = options == null ? Requests.Options.DEFAULT : options;
        int timeout = o.timeoutOr(DEFAULT_TIMEOUT_SECONDS);
        if (timeout < 0 || timeout > 3600) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "timeoutSeconds must be between 0 and 3600");
        }
        return vms.prepareJob(vm, kind, opId, queue, ctx -> {
            Optional<QemuInstance> q = ctx.qemu();
            boolean running = q.isPresent() && (ctx.state() == VmState.RUNNING || ctx.state() == VmState.PAUSED);
            Scope scope = Scope.resolve(vm, o.live(), o.config(), Boolean.TRUE.equals(o.persistent()), running);
            LiveRecord record = null;
            VmDefinition live = null;
            if (scope.live()) {
                record = state.read(vm, q.get(), ctx.definition());
                refuseCrashingPlug(vm, kind, record);
                live = vms.checkChange(liveEdit.apply(record.live()));
            }
            VmDefinition config = scope.config() ? vms.checkChange(configEdit.apply(ctx.definition())) : null;
            return new Plan(scope, record, live, config, q.orElse(null), Duration.ofSeconds(timeout));
        }, (ctx, plan) -> {
            Map<String, Object> details = new LinkedHashMap<>();
            boolean configNow = true;
            if (plan.scope().live()) {
                ctx.recordStep(kind.wire() + ":" + subject);
                Outcome out;
                try {
                    out = step.apply(ctx, plan);
                } catch (MonitorException e) {
                    throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU refused " + kind.wire() + " " + subject + " on VM '"
                            + vm + "': " + e.getMessage() + " (nothing changed)", Map.of("vm", vm), e);
                }
                LiveRecord now = state.read(vm, plan.qemu(), plan.record().live());
                state.write(vm, now.withLive(out.live()));
                details.putAll(out.details());
                configNow = out.configNow();
            }
            if (plan.scope().config() && configNow) {
                ctx.redefine(plan.config());
            }
            return new Result(vm, kind.wire(), plan.scope().toString(), plan.scope().live(), plan.scope().config() && configNow,
                    details);
        });
    }

    /**
     * Checked on QEMU 7.2 under TCG: after a vCPU was unplugged, the next device_add of any kind (DIMM, virtio-mem,
     * disk, NIC, vCPU) makes QEMU abort ("double free or corruption"), killing the guest. Refused instead.
     */
    private void refuseCrashingPlug(String vm, HotplugJob kind, LiveRecord record) {
        boolean plugs = kind == HotplugJob.MEMORY_ATTACH || kind == HotplugJob.DISK_ATTACH || kind == HotplugJob.NIC_ATTACH
                || kind == HotplugJob.SETVCPUS;
        if (plugs && record.vcpuUnplugged() && "tcg".equals(vms.live(vm).accel())) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + vm + "' had a vCPU unplugged: QEMU 7.2 under TCG "
                    + "aborts on any device plug after that (the guest would die); restart the VM first, or change it "
                    + "with config", Map.of("vm", vm));
        }
    }

    private static int require(Integer value, String field) {
        if (value == null) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, field + " is needed");
        }
        return value;
    }

    private static String nextNicName(VmDefinition d) {
        List<String> names = d.nicList().stream().map(VmDefinition.Nic::name).toList();
        for (int i = 0; ; i++) {
            if (!names.contains("net" + i)) {
                return "net" + i;
            }
        }
    }
}
