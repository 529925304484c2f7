package io.jvirt.hotplug;

import io.jvirt.vm.JobKind;

/** The VM jobs of hotplug, {@code hotplug-memory-attach} etc.: each live change of a running VM is one. */
public enum HotplugJob implements JobKind {
    MEMORY_ATTACH, MEMORY_DETACH, MEMORY_RESIZE, SETMEM, SETVCPUS, DISK_ATTACH, DISK_DETACH, NIC_ATTACH, NIC_DETACH,
    IOTHREAD_ADD, IOTHREAD_DEL, IOTHREAD_SET, PIN,
    /** Finishes an unplug the guest completed after its job gave up waiting (DEVICE_DELETED came later). */
    FINISH_UNPLUG;

    @Override
    public String wire() {
        return JobKind.wireName("hotplug-", this);
    }
}
