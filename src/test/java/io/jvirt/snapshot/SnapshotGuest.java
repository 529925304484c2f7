package io.jvirt.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** Test helpers: a tiny guest with qcow2 disks, and writing/reading sector 0 of /dev/vdX through its console. */
final class SnapshotGuest {
    private static final AtomicInteger MARK = new AtomicInteger();
    private static final Duration T = Duration.ofSeconds(90);

    private SnapshotGuest() {
    }

    static ObjectNode definition(String name, Path... disks) {
        ObjectNode d = TestGuest.definition(name);
        var arr = d.putArray("disks");
        char c = 'a';
        for (Path p : disks) {
            arr.addObject().put("name", "vd" + c++).put("path", p.toString()).put("format", "qcow2");
        }
        return d;
    }

    /** A console reader of the VM's current QEMU, once the guest is ready. */
    static ConsoleReader console(TestHttp api, String vm) throws java.io.IOException {
        return console(api, vm, 1);
    }

    /**
     * The console of the VM's current run (each start begins a new history) once its guest is ready; {@code boot}
     * counts the VM's boots so far and is kept only to say at the call site which boot this is.
     */
    static ConsoleReader console(TestHttp api, String vm, int boot) throws java.io.IOException {
        ConsoleReader c = new ConsoleReader(api, vm);
        c.await(TestGuest.READY, 0, T);
        return c;
    }

    static void type(TestHttp api, String vm, String line) {
        assertThat(api.postBytes("/v1/vms/" + vm + "/console", (line + "\n").getBytes()).status()).isEqualTo(204);
    }

    /** Writes a word to sector 0 of the device with fsync and waits until the shell says it is done. */
    static void write(TestHttp api, ConsoleReader console, String vm, String dev, String word) {
        writeAt(api, console, vm, dev, 0, word);
    }

    /** Writes a word to the given 512-byte sector of the device with fsync and waits until the shell says it is done. */
    static void writeAt(TestHttp api, ConsoleReader console, String vm, String dev, int sector, String word) {
        int m = MARK.incrementAndGet();
        int at = console.length();
        type(api, vm, "echo " + word + " | dd of=/dev/" + dev + " bs=512 seek=" + sector + " count=1 conv=notrunc,fsync 2>/dev/null; echo W"
                + m + "=$((" + m + "+1000))");
        console.await("W" + m + "=" + (m + 1000), at, T);
    }

    /** Asserts the first five bytes of sector 0 of the device (read with O_DIRECT so no guest cache is involved). */
    static void expect(TestHttp api, ConsoleReader console, String vm, String dev, String five) {
        expectAt(api, console, vm, dev, 0, five);
    }

    /** Asserts the first five bytes of the given sector of the device (O_DIRECT read). */
    static void expectAt(TestHttp api, ConsoleReader console, String vm, String dev, int sector, String five) {
        int m = MARK.incrementAndGet();
        int at = console.length();
        type(api, vm, "echo R" + m + "=$(dd if=/dev/" + dev + " bs=512 skip=" + sector + " count=1 iflag=direct 2>/dev/null | head -c 5)=$(("
                + m + "+1000))");
        console.await("R" + m + "=" + five + "=" + (m + 1000), at, T);
    }

    static JsonNode ok(TestHttp.Response r) {
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json();
    }

    static Duration timeout() {
        return T;
    }
}
