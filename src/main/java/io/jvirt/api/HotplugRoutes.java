package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.hotplug.HotplugJob;
import io.jvirt.hotplug.HotplugService;
import io.jvirt.hotplug.Requests;
import java.io.IOException;
import java.time.Duration;

/**
 * Changing a VM's memory, vCPUs, disks, NICs and IOThreads (docs/hotplug.md): each change an operation (202, or
 * the result with {@code ?wait=true}); the body's {@code options} say live, config, persistent and how long a live
 * change may wait for the guest. GET /v1/vms/{name}/hotplug reports defined, plugged and onlined.
 */
record HotplugRoutes(HotplugService hotplug, io.jvirt.storage.VolumeService volumes, Operations operations) {

    void register(Router r) {
        r.add("GET", "/v1/vms/{name}/hotplug", ex -> ex.json(200, hotplug.view(ex.param("name"))));
        r.add("POST", "/v1/vms/{name}/memory", ex -> {
            Requests.MemoryAttach b = body(ex, Requests.MemoryAttach.class);
            launch(ex, HotplugJob.MEMORY_ATTACH, id -> hotplug.attachMemory(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/memory/{id}/detach", ex -> {
            Requests.Detach b = detachBody(ex);
            launch(ex, HotplugJob.MEMORY_DETACH, id -> hotplug.detachMemory(vm(ex), ex.param("id"), b.options(), id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/memory/{id}/resize", ex -> {
            Requests.MemoryResize b = body(ex, Requests.MemoryResize.class);
            launch(ex, HotplugJob.MEMORY_RESIZE, id -> hotplug.resizeMemory(vm(ex), ex.param("id"), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/setmem", ex -> {
            Requests.SetMemory b = body(ex, Requests.SetMemory.class);
            launch(ex, HotplugJob.SETMEM, id -> hotplug.setMemory(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/setvcpus", ex -> {
            Requests.SetVcpus b = body(ex, Requests.SetVcpus.class);
            launch(ex, HotplugJob.SETVCPUS, id -> hotplug.setVcpus(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/vcpus/{vcpu}/pin", ex -> {
            Requests.Pin b = body(ex, Requests.Pin.class);
            int vcpu = vcpu(ex.param("vcpu"));
            launch(ex, HotplugJob.PIN, id -> hotplug.pinVcpu(vm(ex), vcpu, b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/emulator/pin", ex -> {
            Requests.Pin b = body(ex, Requests.Pin.class);
            launch(ex, HotplugJob.PIN, id -> hotplug.pinEmulator(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/disks", ex -> {
            Requests.DiskAttach b = onVolume(body(ex, Requests.DiskAttach.class));
            launch(ex, HotplugJob.DISK_ATTACH, id -> hotplug.attachDisk(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/disks/{disk}/detach", ex -> {
            Requests.Detach b = detachBody(ex);
            launch(ex, HotplugJob.DISK_DETACH, id -> hotplug.detachDisk(vm(ex), ex.param("disk"), b.options(), id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/nics", ex -> {
            Requests.NicAttach b = body(ex, Requests.NicAttach.class);
            launch(ex, HotplugJob.NIC_ATTACH, id -> hotplug.attachNic(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/nics/{nic}/detach", ex -> {
            Requests.Detach b = detachBody(ex);
            launch(ex, HotplugJob.NIC_DETACH, id -> hotplug.detachNic(vm(ex), ex.param("nic"), b.options(), id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/iothreads", ex -> {
            Requests.IothreadAdd b = body(ex, Requests.IothreadAdd.class);
            launch(ex, HotplugJob.IOTHREAD_ADD, id -> hotplug.addIothread(vm(ex), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/iothreads/{id}/delete", ex -> {
            Requests.Detach b = detachBody(ex);
            launch(ex, HotplugJob.IOTHREAD_DEL, id -> hotplug.deleteIothread(vm(ex), ex.param("id"), b.options(), id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/iothreads/{id}/set", ex -> {
            Requests.IothreadSet b = body(ex, Requests.IothreadSet.class);
            launch(ex, HotplugJob.IOTHREAD_SET, id -> hotplug.setIothread(vm(ex), ex.param("id"), b, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/iothreads/{id}/pin", ex -> {
            Requests.Pin b = body(ex, Requests.Pin.class);
            launch(ex, HotplugJob.PIN, id -> hotplug.pinIothread(vm(ex), ex.param("id"), b, id, queue(ex)));
        });
    }

    private void launch(Exchange ex, HotplugJob kind, java.util.function.Function<String, io.jvirt.vm.PendingJob<?>> admit)
            throws IOException {
        operations.launch(ex, kind, vm(ex), admit);
    }

    private static String vm(Exchange ex) {
        return ex.param("name");
    }

    private static <T> T body(Exchange ex, Class<T> type) throws IOException {
        T b = ex.bodyAs(type, ErrorCode.INVALID_ARGUMENT);
        if (b == null) {
            throw ApiErrors.badArgument("a JSON body is needed");
        }
        return b;
    }

    /** A detach needs no body (then every option has its default). */
    private static Requests.Detach detachBody(Exchange ex) throws IOException {
        return ex.declaredLength() == 0 ? new Requests.Detach(null) : body(ex, Requests.Detach.class);
    }

    private static int vcpu(String raw) {
        try {
            return Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw ApiErrors.badArgument("vcpu must be a vCPU index, got '" + raw + "'");
        }
    }

    private static Duration queue(Exchange ex) {
        return ex.querySeconds("queue", Duration.ZERO);
    }

    /** {@code volume: "POOL/VOL"}: the pool's volume resolved to its file and format (path and volume exclude each other). */
    private Requests.DiskAttach onVolume(Requests.DiskAttach b) {
        if (b.volume() == null) {
            return b;
        }
        if (b.path() != null) {
            throw new io.jvirt.error.JvirtException(ErrorCode.INVALID_ARGUMENT, "give path or volume, not both");
        }
        int slash = b.volume().indexOf('/');
        if (slash <= 0 || slash == b.volume().length() - 1 || b.volume().indexOf('/', slash + 1) >= 0) {
            throw new io.jvirt.error.JvirtException(ErrorCode.INVALID_ARGUMENT, "volume must be POOL/VOL, got '"
                    + b.volume() + "'", java.util.Map.of("volume", b.volume()));
        }
        io.jvirt.storage.Volume v = volumes.info(b.volume().substring(0, slash), b.volume().substring(slash + 1));
        return b.onVolume(v.path(), v.format());
    }
}
