package io.jvirt.vm;

import io.jvirt.error.JvirtException;
import io.jvirt.error.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Checks a definition at the edge and fills in defaults. Nothing reaches QEMU or the store unless it passed here:
 * names cannot escape a directory, paths are absolute and normalized and name existing files, the emulator can
 * only be a QEMU system emulator, and every value is within range.
 */
public final class DefinitionValidator {
    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern DISK_NAME = Pattern.compile("(vd|sd|hd)[a-z]{1,2}");
    private static final Pattern NIC_NAME = Pattern.compile("[a-z][a-z0-9]{0,14}");
    private static final Pattern MACHINE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    private static final Pattern EMULATOR_FILE = Pattern.compile("qemu-system-[a-z0-9_]+");
    private static final Set<String> FORMATS = Set.of("qcow2", "raw");
    private static final Set<String> BUSES = Set.of("virtio", "sata");
    private static final Set<String> NIC_MODELS = Set.of("virtio-net-pci", "e1000");
    private static final Set<String> NIC_TYPES = Set.of("user", "network", "bridge");
    /** Names of jvirt networks (io.jvirt.network checks the same). */
    public static final Pattern NETWORK_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,31}");
    /** Linux interface names: at most 15 characters, none that ip(8) or a path would read specially. */
    public static final Pattern IFACE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}");
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}");
    private static final Set<String> ACCELS = Set.of("auto", "kvm", "tcg");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String defaultEmulator;

    public DefinitionValidator(String defaultEmulator) {
        this.defaultEmulator = defaultEmulator;
    }

    /** Checks a VM name on its own (used for every API path that names a VM). */
    public static String checkName(String name) {
        if (name == null || name.isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "a VM name is required");
        }
        if (!VM_NAME.matcher(name).matches() || name.contains("..")) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "invalid VM name '" + printable(name)
                    + "': use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (no '/', '..',"
                    + " spaces or control characters)", Map.of("name", printable(name)));
        }
        return name;
    }

    /** Returns the definition with defaults filled in, or throws a JvirtException naming the first problem. */
    public VmDefinition validate(VmDefinition d) {
        if (d == null) {
            throw invalid("the definition is empty");
        }
        String name = checkName(d.name());
        String uuid = d.uuid() == null ? UUID.randomUUID().toString() : checkUuid(d.uuid());
        int memory = d.memoryMiB() == null ? 128 : d.memoryMiB();
        if (memory < 16 || memory > 1024 * 1024) {
            throw invalid("memoryMiB must be between 16 and 1048576, got " + memory);
        }
        int vcpus = d.vcpus() == null ? 1 : d.vcpus();
        if (vcpus < 1 || vcpus > 255) {
            throw invalid("vcpus must be between 1 and 255, got " + vcpus);
        }
        String machine = d.machine() == null ? "q35" : d.machine();
        if (!MACHINE.matcher(machine).matches()) {
            throw invalid("invalid machine type '" + printable(machine) + "'");
        }
        String accel = d.accel() == null ? "auto" : d.accel().toLowerCase(Locale.ROOT);
        if (!ACCELS.contains(accel)) {
            throw invalid("accel must be auto, kvm or tcg, got '" + printable(d.accel()) + "'");
        }
        String emulator = checkEmulator(d.emulator() == null ? defaultEmulator : d.emulator());

        VmDefinition.Boot boot = null;
        if (d.boot() != null) {
            VmDefinition.Boot b = d.boot();
            if (b.cmdline() != null && (b.cmdline().length() > 4096 || hasControl(b.cmdline()))) {
                throw invalid("boot.cmdline must be at most 4096 printable characters");
            }
            if (b.initrd() != null && b.kernel() == null) {
                throw invalid("boot.initrd needs boot.kernel");
            }
            boot = new VmDefinition.Boot(
                    b.kernel() == null ? null : checkFile("boot.kernel", b.kernel()),
                    b.initrd() == null ? null : checkFile("boot.initrd", b.initrd()),
                    b.cmdline());
        }

        List<VmDefinition.Disk> disks = new ArrayList<>();
        Set<String> diskNames = new HashSet<>();
        Set<String> diskPaths = new HashSet<>();
        List<VmDefinition.Disk> inDisks = d.disks() == null ? List.of() : d.disks();
        for (int i = 0; i < inDisks.size(); i++) {
            VmDefinition.Disk disk = inDisks.get(i);
            String where = "disks[" + i + "]";
            if (disk == null) {
                throw invalid(where + " is empty");
            }
            String dn = disk.name() == null ? "vd" + (char) ('a' + i) : disk.name();
            if (!DISK_NAME.matcher(dn).matches()) {
                throw invalid(where + ".name '" + printable(dn) + "' must look like vda, sdb or hdc");
            }
            if (!diskNames.add(dn)) {
                throw invalid("disk name '" + dn + "' is used twice");
            }
            if (disk.path() == null) {
                throw invalid(where + ".path is required");
            }
            String path = checkFile(where + ".path", disk.path());
            if (!diskPaths.add(path)) {
                throw invalid("disk image " + path + " is used twice");
            }
            String format = disk.format() == null ? "qcow2" : disk.format();
            if (!FORMATS.contains(format)) {
                throw invalid(where + ".format must be qcow2 or raw, got '" + printable(format) + "'");
            }
            String bus = disk.bus() == null ? "virtio" : disk.bus();
            if (!BUSES.contains(bus)) {
                throw invalid(where + ".bus must be virtio or sata, got '" + printable(bus) + "'");
            }
            disks.add(new VmDefinition.Disk(dn, path, format, bus, Boolean.TRUE.equals(disk.readOnly()), disk.iothread()));
        }

        List<VmDefinition.Nic> nics = new ArrayList<>();
        Set<String> nicNames = new HashSet<>();
        List<VmDefinition.Nic> inNics = d.nics() == null ? List.of() : d.nics();
        for (int i = 0; i < inNics.size(); i++) {
            VmDefinition.Nic nic = inNics.get(i);
            String where = "nics[" + i + "]";
            if (nic == null) {
                throw invalid(where + " is empty");
            }
            String nn = nic.name() == null ? "net" + i : nic.name();
            if (!NIC_NAME.matcher(nn).matches() || !nicNames.add(nn)) {
                throw invalid(where + ".name '" + printable(nn) + "' must be unique, lowercase letters and digits");
            }
            String type = nic.type() != null ? nic.type() : nic.network() != null ? "network" : nic.bridge() != null ? "bridge" : "user";
            if (!NIC_TYPES.contains(type)) {
                throw invalid(where + ".type must be user, network or bridge, got '" + printable(type) + "'");
            }
            String model = nic.model() == null ? "virtio-net-pci" : nic.model();
            if (!NIC_MODELS.contains(model)) {
                throw invalid(where + ".model must be virtio-net-pci or e1000, got '" + printable(model) + "'");
            }
            String mac = nic.mac() == null ? randomMac() : nic.mac().toLowerCase(Locale.ROOT);
            if (!MAC.matcher(mac).matches() || (Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
                throw invalid(where + ".mac '" + printable(nic.mac()) + "' is not a unicast MAC address");
            }
            nics.add(new VmDefinition.Nic(nn, type, model, mac, checkNicNetwork(where, type, nic),
                    checkNicBridge(where, type, nic), checkForwards(where, type, nic.forwards()), nic.vhost()));
        }
        Hotplug hotplug = HotplugValidator.validate(d.hotplug(), memory, vcpus, disks);
        return new VmDefinition(name, uuid, memory, vcpus, machine, accel, emulator, boot, disks, nics, hotplug);
    }

    private static String checkNicNetwork(String where, String type, VmDefinition.Nic nic) {
        if (!"network".equals(type)) {
            if (nic.network() != null) {
                throw invalid(where + ".network is only for type network");
            }
            return null;
        }
        if (nic.network() == null || !NETWORK_NAME.matcher(nic.network()).matches()) {
            throw invalid(where + ".network must name a network (1-32 letters, digits, '_' or '-'), got '"
                    + printable(nic.network()) + "'");
        }
        return nic.network();
    }

    private static String checkNicBridge(String where, String type, VmDefinition.Nic nic) {
        if (!"bridge".equals(type)) {
            if (nic.bridge() != null) {
                throw invalid(where + ".bridge is only for type bridge");
            }
            return null;
        }
        if (nic.bridge() == null || !IFACE_NAME.matcher(nic.bridge()).matches() || nic.bridge().startsWith(".")) {
            throw invalid(where + ".bridge must name a Linux bridge (1-15 letters, digits, '_', '.' or '-'), got '"
                    + printable(nic.bridge()) + "'");
        }
        return nic.bridge();
    }

    private static List<VmDefinition.Forward> checkForwards(String where, String type, List<VmDefinition.Forward> in) {
        if (in == null || in.isEmpty()) {
            return null;
        }
        if (!"user".equals(type)) {
            throw invalid(where + ".forwards are only for user networking (a tap NIC is reached at its own address)");
        }
        List<VmDefinition.Forward> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < in.size(); i++) {
            VmDefinition.Forward f = in.get(i);
            String at = where + ".forwards[" + i + "]";
            if (f == null) {
                throw invalid(at + " is empty");
            }
            String proto = f.proto() == null ? "tcp" : f.proto().toLowerCase(Locale.ROOT);
            if (!proto.equals("tcp") && !proto.equals("udp")) {
                throw invalid(at + ".proto must be tcp or udp, got '" + printable(f.proto()) + "'");
            }
            String address = f.hostAddress() == null ? "127.0.0.1" : f.hostAddress();
            if (!IPV4.matcher(address).matches()) {
                throw invalid(at + ".hostAddress must be an IPv4 address, got '" + printable(address) + "'");
            }
            if (f.hostPort() == null || f.hostPort() < 1 || f.hostPort() > 65535
                    || f.guestPort() == null || f.guestPort() < 1 || f.guestPort() > 65535) {
                throw invalid(at + " needs hostPort and guestPort between 1 and 65535");
            }
            if (!seen.add(proto + "/" + address + ":" + f.hostPort())) {
                throw invalid(at + ": " + proto + " " + address + ":" + f.hostPort() + " is forwarded twice");
            }
            out.add(new VmDefinition.Forward(proto, address, f.hostPort(), f.guestPort()));
        }
        return List.copyOf(out);
    }

    /** A disk switch may only name a format QEMU is given for disks. */
    static void checkDiskFormat(String format) {
        if (!FORMATS.contains(format)) {
            throw new JvirtException(ErrorCode.INTERNAL, "a disk switch to format '" + printable(format) + "'");
        }
    }

    /** Re-checks, just before a start, that the files a stored definition names still exist. */
    public static void checkFilesStillExist(VmDefinition d) {
        if (d.boot() != null) {
            if (d.boot().kernel() != null) {
                checkFile("boot.kernel", d.boot().kernel());
            }
            if (d.boot().initrd() != null) {
                checkFile("boot.initrd", d.boot().initrd());
            }
        }
        for (VmDefinition.Disk disk : d.disks()) {
            checkFile("disk " + disk.name(), disk.path());
        }
    }

    static String checkFile(String field, String raw) {
        if (raw.isEmpty() || hasControl(raw)) {
            throw invalid(field + " is not a usable path");
        }
        Path p = Path.of(raw);
        if (!p.isAbsolute()) {
            throw invalid(field + " must be an absolute path, got '" + printable(raw) + "'");
        }
        if (!p.normalize().toString().equals(raw)) {
            throw invalid(field + " must be a normalized path (no '.', '..' or '//'), got '" + printable(raw) + "'");
        }
        if (!Files.exists(p)) {
            throw new JvirtException(ErrorCode.DISK_NOT_FOUND, field + ": no such file " + raw, Map.of("path", raw));
        }
        if (!Files.isRegularFile(p) && !isBlockDevice(p)) {
            throw new JvirtException(ErrorCode.DISK_NOT_FOUND, field + ": " + raw + " is not a regular file or block device",
                    Map.of("path", raw));
        }
        return raw;
    }

    private static boolean isBlockDevice(Path p) {
        try {
            Object type = Files.getAttribute(p, "unix:mode");
            return type instanceof Integer mode && (mode & 0170000) == 0060000;
        } catch (Exception e) {
            return false;
        }
    }

    private static String checkEmulator(String raw) {
        if (raw == null || hasControl(raw)) {
            throw invalid("emulator is not a usable path");
        }
        Path p = Path.of(raw);
        if (!p.isAbsolute() || !p.normalize().toString().equals(raw)) {
            throw invalid("emulator must be an absolute, normalized path, got '" + printable(raw) + "'");
        }
        if (!EMULATOR_FILE.matcher(p.getFileName().toString()).matches()) {
            throw invalid("emulator must be a QEMU system emulator (qemu-system-*), got '" + printable(raw) + "'");
        }
        if (!Files.isExecutable(p)) {
            throw invalid("emulator " + raw + " does not exist or is not executable");
        }
        return raw;
    }

    private static String checkUuid(String s) {
        try {
            return UUID.fromString(s).toString();
        } catch (IllegalArgumentException e) {
            throw invalid("uuid '" + printable(s) + "' is not a UUID");
        }
    }

    /** A fresh MAC of QEMU's locally administered 52:54:00 prefix. */
    public static String randomMac() {
        byte[] b = new byte[3];
        RANDOM.nextBytes(b);
        return String.format("52:54:00:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff, b[2] & 0xff);
    }

    private static boolean hasControl(String s) {
        return s.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
    }

    /** Makes a rejected value safe to echo back in a message. */
    static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(100).forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }

    private static JvirtException invalid(String message) {
        return new JvirtException(ErrorCode.INVALID_DEFINITION, message);
    }
}
