package io.jvirt.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {
    private final QemuPaths paths = new QemuPaths(Path.of("/run/jvirt/vms/web"), Path.of("/var/lib/jvirt/owners/web"));

    private QemuLaunchSpec spec(List<QemuLaunchSpec.Disk> disks) {
        return new QemuLaunchSpec("web", "5f0c0000-0000-4000-8000-000000000001", Path.of("/usr/bin/qemu-system-x86_64"),
                "q35", Accelerator.TCG, 256, 2,
                new QemuLaunchSpec.DirectBoot(Path.of("/k/vmlinux"), Path.of("/k/initrd.img"), "console=ttyS0 quiet"),
                disks, List.of(new QemuLaunchSpec.Nic("net0", "user", "virtio-net-pci", "52:54:00:aa:bb:cc")));
    }

    @Test
    void holdsVcpusAndKeepsQemuAliveOnGuestPowerOff() {
        List<String> a = QemuCommandLine.build(spec(List.of()), paths);
        assertThat(a.get(0)).isEqualTo("/usr/bin/qemu-system-x86_64");
        assertThat(a).contains("-S", "-no-shutdown", "-nodefaults", "-no-user-config");
        assertThat(a).containsSequence("-accel", "tcg");
        assertThat(a).containsSequence("-m", "256");
        assertThat(a).containsSequence("-smp", "2");
        assertThat(a).containsSequence("-pidfile", "/run/jvirt/vms/web/qemu.pid");
        assertThat(a).containsSequence("-append", "console=ttyS0 quiet");
    }

    @Test
    void disksHaveExplicitFormatsAndStableIds() {
        List<String> a = QemuCommandLine.build(spec(List.of(
                new QemuLaunchSpec.Disk("vda", Path.of("/img/a.qcow2"), "qcow2", "virtio", false),
                new QemuLaunchSpec.Disk("vdb", Path.of("/img/b.raw"), "raw", "virtio", true))), paths);
        assertThat(a).containsSequence("-blockdev",
                "{\"driver\":\"file\",\"filename\":\"/img/a.qcow2\",\"node-name\":\"file-vda\",\"read-only\":false,\"auto-read-only\":true,\"discard\":\"unmap\"}");
        assertThat(a).containsSequence("-blockdev",
                "{\"driver\":\"qcow2\",\"file\":\"file-vda\",\"node-name\":\"fmt-vda\",\"read-only\":false}");
        assertThat(a).containsSequence("-blockdev",
                "{\"driver\":\"raw\",\"file\":\"file-vdb\",\"node-name\":\"fmt-vdb\",\"read-only\":true}");
        assertThat(a).containsSequence("-device", "virtio-blk-pci,drive=fmt-vda,id=disk-vda");
    }

    @Test
    void pathsWithCommasCannotInjectOptions() {
        QemuPaths odd = new QemuPaths(Path.of("/run/a,server=off"), Path.of("/log"));
        List<String> a = QemuCommandLine.build(spec(List.of()), odd);
        assertThat(a).contains("socket,id=monitor,path=/run/a,,server=off/qmp.sock,server=on,wait=off");
    }

    @Test
    void nicsGetAHostBackendAndAMac() {
        List<String> a = QemuCommandLine.build(spec(List.of()), paths);
        assertThat(a).containsSequence("-netdev", "user,id=hostnet0");
        assertThat(a).containsSequence("-device", "virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:aa:bb:cc");
    }

    @Test
    void tapNicsOpenTheManagersTapByNameAndUserNicsGetPortForwards() {
        QemuLaunchSpec base = spec(List.of());
        QemuLaunchSpec withNics = new QemuLaunchSpec(base.name(), base.uuid(), base.emulator(), base.machine(), base.accel(),
                base.memoryMiB(), base.vcpus(), base.boot(), List.of(), List.of(
                new QemuLaunchSpec.Nic("net0", "tap", "virtio-net-pci", "52:54:00:00:00:01", "jv-web-net0", true, List.of()),
                new QemuLaunchSpec.Nic("net1", "tap", "e1000", "52:54:00:00:00:02", "jv-web-net1", false, List.of()),
                new QemuLaunchSpec.Nic("net2", "user", "virtio-net-pci", "52:54:00:00:00:03", null, false,
                        List.of("tcp:127.0.0.1:8080-:80", "udp:127.0.0.1:5353-:53"))));
        List<String> a = QemuCommandLine.build(withNics, paths);
        assertThat(a).containsSequence("-netdev", "tap,id=hostnet0,ifname=jv-web-net0,script=no,downscript=no,vhost=on");
        assertThat(a).containsSequence("-device", "virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:00:00:01");
        assertThat(a).containsSequence("-netdev", "tap,id=hostnet1,ifname=jv-web-net1,script=no,downscript=no");
        assertThat(a).containsSequence("-netdev", "user,id=hostnet2,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53");
    }

    @Test
    void resizableMachinesGetSlotsNumaIothreadsPortsAndMemoryDevices() {
        QemuLaunchSpec.Resizable r = new QemuLaunchSpec.Resizable(1024, 4, 4,
                List.of(new QemuLaunchSpec.NumaNode(0, "0-1", 128), new QemuLaunchSpec.NumaNode(1, "2-3", 128)),
                List.of(new QemuLaunchSpec.IoThread("io1", 1000L)),
                List.of(new QemuLaunchSpec.MemoryDevice("d1", "dimm", 256, 1, null),
                        new QemuLaunchSpec.MemoryDevice("v1", "virtio-mem", 512, 0, 128)),
                java.util.Map.of("disk-vdb", "hp0"));
        QemuLaunchSpec s = spec(List.of(new QemuLaunchSpec.Disk("vda", Path.of("/i/a.raw"), "raw", "virtio", false, null, "io1"),
                new QemuLaunchSpec.Disk("vdb", Path.of("/i/b.raw"), "raw", "virtio", false))).withResizable(r);
        List<String> a = QemuCommandLine.build(s, paths);
        assertThat(a).containsSequence("-m", "256M,slots=4,maxmem=1024M");
        assertThat(a).containsSequence("-smp", "2,sockets=4,cores=1,threads=1,maxcpus=4");
        assertThat(a).containsSequence("-numa", "node,nodeid=1,cpus=2-3,memdev=numa-ram1");
        assertThat(a).containsSequence("-object", "iothread,id=io1,poll-max-ns=1000");
        assertThat(a).contains("virtio-blk-pci,iothread=io1,drive=fmt-vda,id=disk-vda");
        assertThat(a).containsSequence("-device", "pc-dimm,id=mem-d1,memdev=ram-d1,node=1");
        assertThat(a).contains("virtio-mem-pci,id=mem-v1,memdev=ram-v1,node=0,block-size=2M,requested-size=128M");
        // a device added live on a port comes after the ports, on its port
        int port = a.indexOf("pcie-root-port,id=hp0,bus=pcie.0,chassis=1,addr=0x1b.0");
        int vdb = a.indexOf("virtio-blk-pci,drive=fmt-vdb,id=disk-vdb,bus=hp0");
        assertThat(port).isPositive();
        assertThat(vdb).isGreaterThan(port);
    }

    @Test
    void aPlainMachineKeepsItsPlainShape() {
        List<String> a = QemuCommandLine.build(spec(List.of()), paths);
        assertThat(a).containsSequence("-m", "256").containsSequence("-smp", "2").doesNotContain("-numa");
    }
}
