package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/**
 * Changing a VM's memory, vCPUs, disks, NICs and IOThreads (docs/hotplug.md), with virsh's verbs and its
 * {@code --live/--config/--persistent} model: setmem, memory attach|detach|resize|info, setvcpus, vcpupin,
 * emulatorpin, attach-disk, detach-disk, attach-interface, detach-interface, iothread add|del|set|pin.
 */
final class HotplugCommands {
    private HotplugCommands() {
    }

    /** Sizes in MiB from {@code 256M}, {@code 1G} or a plain number of bytes. */
    static final class MiB implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            try {
                long b = Bytes.parse(value);
                if (b % (1024 * 1024) != 0) throw new TypeConversionException("'" + value + "' is not a whole number of MiB");
                return (int) (b / (1024 * 1024));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** A change: where it goes, how long a live change may wait for the guest, and the answer shown. */
    abstract static class ChangeCmd extends CliCommand.OnVm {
        @Option(names = "--live", description = "Change the running VM.")
        boolean live;
        @Option(names = "--config", description = "Change the stored definition (the next boot).")
        boolean config;
        @Option(names = "--persistent", description = "Both: live, and config for the next boot.")
        boolean persistent;
        @Option(names = "--guest-timeout", paramLabel = "S",
                description = "Seconds a live change waits for the guest (daemon default 30); then exit 6, reported.")
        Integer guestTimeout;
        @Mixin
        Options.Queue queue;
        @Mixin
        Options.Wait wait;

        abstract String path();

        /** The change's own fields; the live/config options are added to it. An unplug has none of its own. */
        ObjectNode body() {
            return Json.object();
        }

        @Override
        JsonNode run() throws Exception {
            ObjectNode b = body();
            ObjectNode o = b.putObject("options");
            if (live) o.put("live", true);
            if (config) o.put("config", true);
            if (persistent) o.put("persistent", true);
            if (guestTimeout != null) o.put("timeoutSeconds", guestTimeout);
            return Operations.run(api(), "POST", vmPath(vm) + path(), queue.addTo(new LinkedHashMap<>()), b, wait,
                    "the change of VM " + vm);
        }

        @Override
        void show(JsonNode op, Output out) {
            if (wait.noWait) {
                out.line("Change of VM " + vm + " started (operation " + Output.text(op, "id") + ")");
                return;
            }
            JsonNode r = op.path("result");
            StringBuilder s = new StringBuilder(Output.text(r, "change")).append(" on VM ").append(vm).append(" (")
                    .append(Output.text(r, "scope")).append(")");
            for (Iterator<Map.Entry<String, JsonNode>> it = r.path("details").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                s.append(' ').append(e.getKey()).append('=').append(e.getValue().asText());
            }
            out.line(s.toString());
        }
    }

    @Command(name = "setmem", description = "Set the balloon's target (live) or the boot memory (--config).")
    static final class SetmemCmd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "SIZE", converter = MiB.class, description = "e.g. 96M")
        int size;

        String path() {
            return "/setmem";
        }

        ObjectNode body() {
            return Json.object().put("memoryMiB", size);
        }
    }

    @Command(name = "setvcpus", description = "Plug or unplug vCPUs (up to the definition's maxVcpus).")
    static final class SetvcpusCmd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "N")
        int count;

        String path() {
            return "/setvcpus";
        }

        ObjectNode body() {
            return Json.object().put("vcpus", count);
        }
    }

    @Command(name = "vcpupin", description = "Pin a vCPU's host thread to host CPUs.")
    static final class VcpupinCmd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "VCPU")
        int vcpu;
        @Parameters(index = "2", paramLabel = "CPULIST", description = "e.g. 0-1,3")
        String cpus;

        String path() {
            return "/vcpus/" + vcpu + "/pin";
        }

        ObjectNode body() {
            return Json.object().put("cpus", cpus);
        }
    }

    @Command(name = "emulatorpin", description = "Pin QEMU's emulator threads (all but vCPUs and IOThreads) to host CPUs.")
    static final class EmulatorpinCmd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "CPULIST")
        String cpus;

        String path() {
            return "/emulator/pin";
        }

        ObjectNode body() {
            return Json.object().put("cpus", cpus);
        }
    }

    @Command(name = "memory", description = "Memory devices: DIMMs and virtio-mem.",
            subcommands = {MemoryAttach.class, MemoryDetach.class, MemoryResize.class, MemoryInfo.class})
    static final class MemoryCmd {
    }

    @Command(name = "attach", description = "Plug a memory device (a DIMM, or virtio-mem with --kind virtio-mem).")
    static final class MemoryAttach extends ChangeCmd {
        @Option(names = "--id", required = true, description = "Its name, e.g. d1.")
        String id;
        @Option(names = "--size", required = true, converter = MiB.class, description = "A DIMM's size, virtio-mem's most.")
        int size;
        @Option(names = "--node", description = "NUMA node (default 0).")
        Integer node;
        @Option(names = "--kind", description = "dimm (default) or virtio-mem.")
        String kind;
        @Option(names = "--requested", converter = MiB.class, description = "virtio-mem: what the guest is asked to take.")
        Integer requested;

        String path() {
            return "/memory";
        }

        ObjectNode body() {
            ObjectNode b = Json.object().put("id", id).put("sizeMiB", size);
            if (node != null) b.put("node", node);
            if (kind != null) b.put("kind", kind);
            if (requested != null) b.put("requestedMiB", requested);
            return b;
        }
    }

    @Command(name = "detach", description = "Unplug a memory device (the guest must release it).")
    static final class MemoryDetach extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "ID")
        String id;

        String path() {
            return "/memory/" + ApiClient.segment(id) + "/detach";
        }
    }

    @Command(name = "resize", description = "Set a virtio-mem device's requested size.")
    static final class MemoryResize extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "ID")
        String id;
        @Option(names = "--size", required = true, converter = MiB.class)
        int size;

        String path() {
            return "/memory/" + ApiClient.segment(id) + "/resize";
        }

        ObjectNode body() {
            return Json.object().put("requestedMiB", size);
        }
    }

    @Command(name = "info", description = "Memory, vCPUs and IOThreads: defined, plugged by QEMU, onlined by the guest.")
    static final class MemoryInfo extends CliCommand.OnVm {
        @Override
        JsonNode run() throws Exception {
            return api().get(vmPath(vm) + "/hotplug");
        }

        @Override
        void show(JsonNode v, Output out) {
            JsonNode m = v.path("memory");
            JsonNode c = v.path("vcpus");
            Output.Block b = out.block(12).add("State", Output.text(v, "state"));
            if (m.isObject()) {
                b.add("Memory", Output.text(m, "totalMiB") + " MiB plugged of max " + Output.text(m, "maxMiB") + " MiB (boot "
                        + Output.text(m, "bootMiB") + ", balloon " + Output.text(m, "balloonMiB") + ")");
                b.add("Guest memory", Output.text(m, "guest") + (m.hasNonNull("guestOnlineMiB") ? ", "
                        + m.path("guestOnlineMiB").asText() + " MiB online" : ""));
                for (JsonNode d : m.path("devices")) {
                    b.add("  " + Output.text(d, "id"), Output.text(d, "kind") + " node " + Output.text(d, "node") + " "
                            + Output.text(d, "pluggedMiB") + " MiB" + (d.has("requestedMiB") ? " (requested "
                            + Output.text(d, "requestedMiB") + ": " + Output.text(d, "guest") + ")" : ""));
                }
                b.add("vCPUs", Output.text(c, "plugged") + " of " + Output.text(c, "max") + " plugged; guest: " + Output.text(c, "guest"));
                for (JsonNode t : v.path("iothreads")) {
                    b.add("IOThread " + Output.text(t, "id"), "thread " + Output.text(t, "threadId") + ", CPUs "
                            + Output.text(t, "affinity") + ", poll-max-ns " + Output.text(t, "pollMaxNs"));
                }
                b.add("Pending", v.path("pending").isEmpty() ? "-" : v.path("pending").toString());
            } else {
                JsonNode cfg = v.path("config");
                b.add("Memory", Output.text(cfg, "memoryMiB") + " MiB, max " + Output.text(cfg, "maxMemoryMiB"));
                b.add("vCPUs", Output.text(cfg, "vcpus") + " of " + Output.text(cfg, "maxVcpus"));
            }
            b.print();
        }
    }

    @Command(name = "attach-disk", description = "Attach a disk image (--path FILE or --volume POOL/VOL) as a virtio disk.")
    static final class AttachDiskCmd extends ChangeCmd {
        @Option(names = "--path", description = "Absolute path of the image (or --volume).")
        String path;
        @Option(names = "--volume", paramLabel = "POOL/VOL", description = "A storage pool's volume (its format unless --format).")
        String volume;
        @Option(names = "--target", required = true, description = "Its name in the VM, e.g. vdb.")
        String target;
        @Option(names = "--format", description = "raw (default) or qcow2.")
        String format;
        @Option(names = "--iothread", description = "The IOThread that runs it.")
        String iothread;
        @Option(names = "--readonly")
        boolean readOnly;

        String path() {
            return "/disks";
        }

        ObjectNode body() {
            ObjectNode b = Json.object().put("target", target);
            if (path != null) b.put("path", path);
            if (volume != null) b.put("volume", volume);
            if (format != null) b.put("format", format);
            if (iothread != null) b.put("iothread", iothread);
            if (readOnly) b.put("readOnly", true);
            return b;
        }
    }

    @Command(name = "detach-disk", description = "Detach a disk (the guest must release it).")
    static final class DetachDiskCmd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "TARGET")
        String target;

        String path() {
            return "/disks/" + ApiClient.segment(target) + "/detach";
        }
    }

    @Command(name = "attach-interface", description = "Attach a NIC (user, --network NET or --bridge BR).")
    static final class AttachInterfaceCmd extends ChangeCmd {
        @Option(names = "--name", description = "Its name, e.g. net1 (default: the next free netN).")
        String name;
        @Option(names = "--network")
        String network;
        @Option(names = "--bridge")
        String bridge;
        @Option(names = "--mac")
        String mac;
        @Option(names = "--model", description = "virtio-net-pci (default) or e1000.")
        String model;

        String path() {
            return "/nics";
        }

        ObjectNode body() {
            ObjectNode b = Json.object();
            if (name != null) b.put("name", name);
            if (network != null) b.put("network", network);
            if (bridge != null) b.put("bridge", bridge);
            if (mac != null) b.put("mac", mac);
            if (model != null) b.put("model", model);
            return b;
        }
    }

    @Command(name = "detach-interface", description = "Detach a NIC (the guest must release it).")
    static final class DetachInterfaceCmd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "NIC")
        String nic;

        String path() {
            return "/nics/" + ApiClient.segment(nic) + "/detach";
        }
    }

    @Command(name = "iothread", description = "IOThreads: add, del, set (poll-max-ns), pin.",
            subcommands = {IothreadAdd.class, IothreadDel.class, IothreadSet.class, IothreadPin.class})
    static final class IothreadCmd {
    }

    @Command(name = "add", description = "Add an IOThread.")
    static final class IothreadAdd extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "ID")
        String id;
        @Option(names = "--pin", paramLabel = "CPULIST")
        String pin;
        @Option(names = "--poll-max-ns")
        Long pollMaxNs;

        String path() {
            return "/iothreads";
        }

        ObjectNode body() {
            ObjectNode b = Json.object().put("id", id);
            if (pin != null) b.put("pinning", pin);
            if (pollMaxNs != null) b.put("pollMaxNs", pollMaxNs);
            return b;
        }
    }

    @Command(name = "del", description = "Remove an IOThread no disk uses.")
    static final class IothreadDel extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "ID")
        String id;

        String path() {
            return "/iothreads/" + ApiClient.segment(id) + "/delete";
        }
    }

    @Command(name = "set", description = "Set an IOThread's poll-max-ns.")
    static final class IothreadSet extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "ID")
        String id;
        @Option(names = "--poll-max-ns", required = true)
        long pollMaxNs;

        String path() {
            return "/iothreads/" + ApiClient.segment(id) + "/set";
        }

        ObjectNode body() {
            return Json.object().put("pollMaxNs", pollMaxNs);
        }
    }

    @Command(name = "pin", description = "Pin an IOThread to host CPUs.")
    static final class IothreadPin extends ChangeCmd {
        @Parameters(index = "1", paramLabel = "ID")
        String id;
        @Parameters(index = "2", paramLabel = "CPULIST")
        String cpus;

        String path() {
            return "/iothreads/" + ApiClient.segment(id) + "/pin";
        }

        ObjectNode body() {
            return Json.object().put("cpus", cpus);
        }
    }
}
