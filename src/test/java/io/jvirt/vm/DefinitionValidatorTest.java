package io.jvirt.vm;

import io.jvirt.error.JvirtException;
import io.jvirt.error.ErrorCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DefinitionValidatorTest {
    @TempDir
    Path tmp;

    private final DefinitionValidator validator = new DefinitionValidator(emulator());

    private static String emulator() {
        for (String p : List.of("/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        throw new IllegalStateException("qemu-system-x86_64 is not installed");
    }

    private static VmDefinition named(String name) {
        return new VmDefinition(name, null, null, null, null, null, null, null, null, null);
    }

    private static ErrorCode codeOf(Runnable r) {
        try {
            r.run();
        } catch (JvirtException e) {
            return e.code();
        }
        throw new AssertionError("accepted");
    }

    @Test
    void fillsDefaults() {
        VmDefinition d = validator.validate(named("web-1.example_a"));
        assertThat(d.memoryMiB()).isEqualTo(128);
        assertThat(d.vcpus()).isEqualTo(1);
        assertThat(d.machine()).isEqualTo("q35");
        assertThat(d.accel()).isEqualTo("auto");
        assertThat(d.uuid()).hasSize(36);
        assertThat(d.disks()).isEmpty();
        assertThat(d.emulator()).endsWith("qemu-system-x86_64");
    }

    @Test
    void refusesNamesThatCouldEscapeADirectory() {
        for (String bad : List.of("a/b", "..", "a..b", "../x", "x\u0000y", "new\nline", "sp ace", ".hidden", "-opt",
                "x".repeat(64), "")) {
            assertThat(codeOf(() -> validator.validate(named(bad)))).as(bad).isEqualTo(ErrorCode.INVALID_NAME);
        }
    }

    @Test
    void checksDiskPaths() throws IOException {
        Path disk = Files.createFile(tmp.resolve("d.qcow2"));
        VmDefinition ok = new VmDefinition("v", null, null, null, null, null, null, null,
                List.of(new VmDefinition.Disk(null, disk.toString(), null, null, null)), null);
        VmDefinition.Disk filled = validator.validate(ok).disks().get(0);
        assertThat(filled.name()).isEqualTo("vda");
        assertThat(filled.format()).isEqualTo("qcow2");
        assertThat(filled.bus()).isEqualTo("virtio");

        for (String bad : List.of("d.qcow2", tmp + "/./d.qcow2", tmp + "/x/../d.qcow2", tmp + "//d.qcow2")) {
            VmDefinition d = new VmDefinition("v", null, null, null, null, null, null, null,
                    List.of(new VmDefinition.Disk(null, bad, null, null, null)), null);
            assertThat(codeOf(() -> validator.validate(d))).as(bad).isEqualTo(ErrorCode.INVALID_DEFINITION);
        }
        VmDefinition missing = new VmDefinition("v", null, null, null, null, null, null, null,
                List.of(new VmDefinition.Disk(null, tmp.resolve("nope").toString(), null, null, null)), null);
        assertThat(codeOf(() -> validator.validate(missing))).isEqualTo(ErrorCode.DISK_NOT_FOUND);
        VmDefinition dir = new VmDefinition("v", null, null, null, null, null, null, null,
                List.of(new VmDefinition.Disk(null, tmp.toString(), null, null, null)), null);
        assertThat(codeOf(() -> validator.validate(dir))).isEqualTo(ErrorCode.DISK_NOT_FOUND);
        VmDefinition twice = new VmDefinition("v", null, null, null, null, null, null, null,
                List.of(new VmDefinition.Disk("vda", disk.toString(), null, null, null),
                        new VmDefinition.Disk("vdb", disk.toString(), null, null, null)), null);
        assertThat(codeOf(() -> validator.validate(twice))).isEqualTo(ErrorCode.INVALID_DEFINITION);
    }

    @Test
    void emulatorMustBeAQemuSystemBinary() {
        for (String bad : List.of("/bin/sh", "qemu-system-x86_64", "/usr/bin/../bin/qemu-system-x86_64", "/nonexistent/qemu-system-x86_64")) {
            VmDefinition d = new VmDefinition("v", null, null, null, null, null, bad, null, null, null);
            assertThat(codeOf(() -> validator.validate(d))).as(bad).isEqualTo(ErrorCode.INVALID_DEFINITION);
        }
    }

    @Test
    void checksRangesAndEnums() {
        assertThat(codeOf(() -> validator.validate(new VmDefinition("v", null, 8, null, null, null, null, null, null, null))))
                .isEqualTo(ErrorCode.INVALID_DEFINITION);
        assertThat(codeOf(() -> validator.validate(new VmDefinition("v", null, null, 0, null, null, null, null, null, null))))
                .isEqualTo(ErrorCode.INVALID_DEFINITION);
        assertThat(codeOf(() -> validator.validate(new VmDefinition("v", null, null, null, "q35,accel=kvm", null, null, null, null, null))))
                .isEqualTo(ErrorCode.INVALID_DEFINITION);
        assertThat(codeOf(() -> validator.validate(new VmDefinition("v", null, null, null, null, "xen", null, null, null, null))))
                .isEqualTo(ErrorCode.INVALID_DEFINITION);
        assertThat(codeOf(() -> validator.validate(new VmDefinition("v", "not-a-uuid", null, null, null, null, null, null, null, null))))
                .isEqualTo(ErrorCode.INVALID_DEFINITION);
        assertThatThrownBy(() -> validator.validate(new VmDefinition("v", null, null, null, null, null, null, null, null,
                List.of(new VmDefinition.Nic(null, "tap", null, null))))).hasMessageContaining("user");
        VmDefinition nic = validator.validate(new VmDefinition("v", null, null, null, null, null, null, null, null,
                List.of(new VmDefinition.Nic(null, null, null, null))));
        assertThat(nic.nics().get(0).mac()).matches("52:54:00(:[0-9a-f]{2}){3}");
        assertThat(nic.nics().get(0).name()).isEqualTo("net0");
    }

    @Test
    void nicsNameANetworkOrABridgeAndOnlyUserNicsForwardPorts() {
        VmDefinition.Forward web = new VmDefinition.Forward(null, null, 8080, 80);
        VmDefinition d = validator.validate(new VmDefinition("v", null, null, null, null, null, null, null, null, List.of(
                new VmDefinition.Nic(null, null, null, null, "default", null, null, null),
                new VmDefinition.Nic(null, null, null, null, null, "br0", null, false),
                new VmDefinition.Nic(null, null, null, "52:54:00:AA:BB:CC", null, null, List.of(web), null))));
        assertThat(d.nics()).extracting(VmDefinition.Nic::type).containsExactly("network", "bridge", "user");
        assertThat(d.nics().get(1).vhost()).isFalse();
        assertThat(d.nics().get(2).mac()).isEqualTo("52:54:00:aa:bb:cc");
        assertThat(d.nics().get(2).forwards()).containsExactly(new VmDefinition.Forward("tcp", "127.0.0.1", 8080, 80));
        for (VmDefinition.Nic bad : List.of(
                new VmDefinition.Nic(null, "network", null, null),
                new VmDefinition.Nic(null, null, null, null, "a/b", null, null, null),
                new VmDefinition.Nic(null, null, null, null, null, "br0 x", null, null),
                new VmDefinition.Nic(null, null, null, null, "default", null, List.of(web), null),
                new VmDefinition.Nic(null, "user", null, null, "default", null, null, null),
                new VmDefinition.Nic(null, null, null, "01:00:5e:00:00:01", null, null, null, null),
                new VmDefinition.Nic(null, null, null, null, null, null, List.of(new VmDefinition.Forward("sctp", null, 1, 2)), null),
                new VmDefinition.Nic(null, null, null, null, null, null, List.of(new VmDefinition.Forward(null, "::1", 1, 2)), null),
                new VmDefinition.Nic(null, null, null, null, null, null, List.of(new VmDefinition.Forward(null, null, 0, 2)), null),
                new VmDefinition.Nic(null, null, null, null, null, null, List.of(web, web), null))) {
            assertThat(codeOf(() -> validator.validate(new VmDefinition("v", null, null, null, null, null, null, null, null,
                    List.of(bad))))).as(bad.toString()).isEqualTo(ErrorCode.INVALID_DEFINITION);
        }
    }

    @Test
    void macsAreUniqueAcrossVmsAndAGeneratedOneIsDrawnAgain() {
        VmDefinition other = validator.validate(new VmDefinition("a", null, null, null, null, null, null, null, null,
                List.of(new VmDefinition.Nic(null, null, null, "52:54:00:00:00:01"))));
        VmDefinition given = new VmDefinition("b", null, null, null, null, null, null, null, null,
                List.of(new VmDefinition.Nic(null, null, null, "52:54:00:00:00:01")));
        assertThat(codeOf(() -> MacAddresses.unique(given, validator.validate(given), List.of(other))))
                .isEqualTo(ErrorCode.MAC_IN_USE);
        VmDefinition generated = new VmDefinition("b", null, null, null, null, null, null, null, null,
                List.of(new VmDefinition.Nic(null, null, null, null)));
        VmDefinition clashing = new VmDefinition("b", null, null, null, null, null, null, null, null,
                List.of(new VmDefinition.Nic("net0", "user", "virtio-net-pci", "52:54:00:00:00:01")));
        VmDefinition fixed = MacAddresses.unique(generated, clashing, List.of(other));
        assertThat(fixed.nics().get(0).mac()).isNotEqualTo("52:54:00:00:00:01").startsWith("52:54:00:");
    }
}
