package io.jvirt.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qemu.AccelProbe;
import io.jvirt.qemu.QemuBinaries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The tiny test guest (scripts/build-tiny-guest.sh): built once and cached, and the accelerator it runs on here,
 * probed once (KVM only if it really boots a guest). Tests never depend on which accelerator they got.
 */
public final class TestGuest {
    public static final String READY = "JVIRT-GUEST-READY";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile Path dir;
    private static volatile String accel;

    private TestGuest() {
    }

    public static synchronized Path dir() {
        if (dir == null) {
            String prop = System.getProperty("jvirt.test.guest");
            String env = System.getenv("JVIRT_GUEST_DIR");
            Path d = prop != null && !prop.isBlank() && !prop.startsWith("${") ? Path.of(prop)
                    : env != null ? Path.of(env)
                    : Path.of(System.getProperty("user.home"), ".cache", "jvirt", "guest");
            if (!Files.isRegularFile(d.resolve("vmlinux")) || !Files.isRegularFile(d.resolve("initrd.img"))) {
                run(List.of("bash", "scripts/build-tiny-guest.sh", d.toString()), 900);
            }
            dir = d;
        }
        return dir;
    }

    public static Path kernel() {
        return dir().resolve("vmlinux");
    }

    public static Path initrd() {
        return dir().resolve("initrd.img");
    }

    /** "kvm" or "tcg": what the daemon under test should use; decided once per machine and cached. */
    public static synchronized String accel() {
        if (accel == null) {
            Path emulator = QemuBinaries.locate("qemu-system-x86_64").orElseThrow();
            accel = AccelProbe.decide(new AccelProbe.Probe(emulator, kernel(), initrd(), READY,
                    dir().resolve("accel-probe.json"))).accel().qemuName();
        }
        return accel;
    }

    /** A definition of the tiny guest, ready to POST. */
    public static ObjectNode definition(String name) {
        ObjectNode d = JSON.createObjectNode();
        d.put("name", name);
        d.put("memoryMiB", 128);
        d.put("vcpus", 1);
        ObjectNode boot = d.putObject("boot");
        boot.put("kernel", kernel().toString());
        boot.put("initrd", initrd().toString());
        boot.put("cmdline", "console=ttyS0");
        return d;
    }

    /** Creates a disk image with qemu-img. */
    public static Path newDisk(Path file, String format, String size) {
        run(List.of("qemu-img", "create", "-q", "-f", format, file.toString(), size), 60);
        return file;
    }

    public static void run(List<String> command, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(command).inheritIO().start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new AssertionError(command + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new AssertionError(command + " failed with status " + p.exitValue());
            }
        } catch (IOException e) {
            throw new AssertionError(command + " could not run", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
