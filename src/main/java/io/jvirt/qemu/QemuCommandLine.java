package io.jvirt.qemu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a QEMU command line as an argument array (never a shell string). The shape follows what a careful
 * manager does: no default devices, vCPUs held (-S) until the manager has connected and says go, -no-shutdown so
 * a guest power-off leaves QEMU alive for the manager to observe, backends split from frontends with stable ids,
 * and every image format explicit.
 */
public final class QemuCommandLine {
    private static final ObjectMapper JSON = new ObjectMapper();

    private QemuCommandLine() {
    }

    public static List<String> build(QemuLaunchSpec spec, QemuPaths paths) {
        List<String> a = new ArrayList<>();
        a.add(spec.emulator().toString());
        a.addAll(List.of("-name", "guest=" + commaSafe(spec.name()) + ",debug-threads=on"));
        a.addAll(List.of("-uuid", spec.uuid()));
        a.addAll(List.of("-machine", spec.machine()));
        a.addAll(List.of("-accel", spec.accel().qemuName()));
        a.addAll(List.of("-m", HotplugArgs.memory(spec)));
        a.addAll(List.of("-smp", HotplugArgs.smp(spec)));
        a.addAll(HotplugArgs.objects(spec));
        a.addAll(List.of("-nodefaults", "-no-user-config", "-S", "-no-shutdown", "-display", "none"));
        a.addAll(List.of("-msg", "timestamp=on"));
        a.addAll(List.of("-pidfile", paths.pidFile().toString()));

        a.addAll(List.of("-chardev", "socket,id=monitor,path=" + commaSafe(paths.qmpSocket()) + ",server=on,wait=off"));
        a.addAll(List.of("-mon", "chardev=monitor,id=monitor,mode=control"));

        a.addAll(List.of("-chardev", "socket,id=serial0,path=" + commaSafe(paths.consoleSocket())
                + ",server=on,wait=off,logfile=" + commaSafe(paths.consoleLog()) + ",logappend=on"));
        a.addAll(List.of("-device", "isa-serial,chardev=serial0,id=serial0"));

        // A guest-agent channel is always present: cheap, and later features (quiesce, guest calls) need it.
        a.addAll(List.of("-device", "virtio-serial-pci,id=virtio-serial0"));
        a.addAll(List.of("-chardev", "socket,id=qga0,path=" + commaSafe(paths.agentSocket()) + ",server=on,wait=off"));
        a.addAll(List.of("-device", "virtserialport,bus=virtio-serial0.0,chardev=qga0,id=channel0,name=org.qemu.guest_agent.0"));
        a.addAll(List.of("-device", "virtio-balloon-pci,id=balloon0"));

        QemuLaunchSpec.DirectBoot boot = spec.boot();
        if (boot != null) {
            if (boot.kernel() != null) {
                a.addAll(List.of("-kernel", boot.kernel().toString()));
            }
            if (boot.initrd() != null) {
                a.addAll(List.of("-initrd", boot.initrd().toString()));
            }
            if (boot.cmdline() != null && !boot.cmdline().isEmpty()) {
                a.addAll(List.of("-append", boot.cmdline()));
            }
        }

        int bootIndex = 1;
        List<String> onPorts = new ArrayList<>(); // devices added live on a hot-plug port come after the ports
        for (QemuLaunchSpec.Disk d : spec.disks()) {
            List<String> to = HotplugArgs.onPort(spec, deviceId(d)) ? onPorts : a;
            if (d.blockdevs() != null) {
                to.addAll(d.blockdevs()); // the whole checked chain, so no image header picks a file QEMU opens
            } else {
                to.addAll(List.of("-blockdev", fileNode(d)));
                to.addAll(List.of("-blockdev", formatNode(d)));
            }
            String frontend = switch (d.bus()) {
                case "sata" -> "ide-hd,bus=ide." + (bootIndex - 1);
                default -> "virtio-blk-pci" + (d.iothread() == null ? "" : ",iothread=" + d.iothread());
            };
            to.addAll(List.of("-device", frontend + ",drive=" + formatNodeName(d) + ",id=" + deviceId(d)
                    + HotplugArgs.bus(spec, deviceId(d))
                    + (boot == null || boot.kernel() == null ? ",bootindex=" + bootIndex : "")));
            bootIndex++;
        }

        for (QemuLaunchSpec.Nic n : spec.nics()) {
            List<String> to = HotplugArgs.onPort(spec, n.id()) ? onPorts : a;
            to.addAll(List.of("-netdev", netdev(n)));
            to.addAll(List.of("-device", n.model() + ",netdev=host" + n.id() + ",id=" + n.id() + ",mac=" + n.mac()
                    + HotplugArgs.bus(spec, n.id())));
        }
        a.addAll(HotplugArgs.tail(spec));
        a.addAll(onPorts);
        if (spec.incomingDefer()) {
            // the manager names the stream later (migrate-incoming), e.g. to load a saved memory snapshot
            a.addAll(List.of("-incoming", "defer"));
        }
        if (spec.confined() != null) {
            a.addAll(spec.confined().suffix());
        }
        return a;
    }

    /** A tap is made and owned by the manager: QEMU only opens it by name and never runs an ifup script. */
    static String netdev(QemuLaunchSpec.Nic n) {
        StringBuilder b = new StringBuilder(n.type()).append(",id=host").append(n.id());
        if ("tap".equals(n.type())) {
            b.append(",ifname=").append(commaSafe(n.ifname())).append(",script=no,downscript=no");
            if (n.vhost()) {
                b.append(",vhost=on");
            }
        }
        for (String fwd : n.hostForwards()) {
            b.append(",hostfwd=").append(commaSafe(fwd));
        }
        return b.toString();
    }

    /** Node name of a disk's protocol (file) layer. Node names are limited to 31 characters by QEMU. */
    public static String fileNodeName(QemuLaunchSpec.Disk d) {
        return "file-" + d.id();
    }

    /** Node name of a disk's format layer: the node the guest device is attached to. */
    public static String formatNodeName(QemuLaunchSpec.Disk d) {
        return "fmt-" + d.id();
    }

    /** The guest device's id: how the monitor layer finds the disk in QEMU's block graph, whatever its nodes. */
    public static String deviceId(QemuLaunchSpec.Disk d) {
        return io.jvirt.qemu.monitor.BlockGraph.deviceId(d.id());
    }

    private static String fileNode(QemuLaunchSpec.Disk d) {
        ObjectNode n = JSON.createObjectNode();
        n.put("driver", "file");
        n.put("filename", d.path().toString());
        n.put("node-name", fileNodeName(d));
        n.put("read-only", d.readOnly());
        n.put("auto-read-only", true);
        n.put("discard", "unmap");
        return n.toString();
    }

    private static String formatNode(QemuLaunchSpec.Disk d) {
        ObjectNode n = JSON.createObjectNode();
        n.put("driver", d.format());
        n.put("file", fileNodeName(d));
        n.put("node-name", formatNodeName(d));
        n.put("read-only", d.readOnly());
        return n.toString();
    }

    /** In QEMU's key=value option syntax a comma is escaped by doubling it. */
    static String commaSafe(Object value) {
        return value.toString().replace(",", ",,");
    }
}
