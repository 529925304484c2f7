package io.jvirt.vm;

import io.jvirt.qemu.QemuInstance;

/**
 * What an observer (stats, the guest agent) reads of one VM at once, without touching its job slot: its state and
 * the reason for it, definition, the QEMU running it ({@code qemu} null when none), the accelerator in use and the job under way
 * ({@code job} null when none).
 */
public record LiveVm(String name, VmState state, String reason, VmDefinition definition, QemuInstance qemu, String accel,
                     String job) {

    /** True while a QEMU process runs the VM (running or paused). */
    public boolean hasQemu() {
        return qemu != null && qemu.isAlive();
    }

    static LiveVm of(Vm vm) {
        VmRecord r = vm.record();
        return new LiveVm(vm.name(), r.state(), r.reason(), vm.definition(), vm.instance(), r.accel(),
                vm.jobs().current().map(Job::name).orElse(null));
    }
}
