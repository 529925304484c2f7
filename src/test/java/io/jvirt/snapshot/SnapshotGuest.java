package io.jvirt.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.nio.file.Path;
import java.time.Duration;

/** Test helpers: a tiny guest with qcow2 disks, and writing/reading sector 0 of /dev/vdX through its console. */
final class SnapshotGuest {
    private static final Duration T = GuestConsole.TIMEOUT;

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
        return GuestConsole.ready(api, vm);
    }

    static void type(TestHttp api, String vm, String line) {
        GuestConsole.type(api, vm, line);
    }

    /** Writes a word to sector 0 of the device with fsync and waits until the shell says it is done. */
    static void write(TestHttp api, ConsoleReader console, String vm, String dev, String word) {
        writeAt(api, console, vm, dev, 0, word);
    }

    /** Writes a word to the given 512-byte sector of the device with fsync and waits until the shell says it is done. */
    static void writeAt(TestHttp api, ConsoleReader console, String vm, String dev, int sector, String word) {
        GuestConsole.writeAt(api, console, vm, dev, sector, word);
    }

    /** Asserts the first five bytes of sector 0 of the device (read with O_DIRECT so no guest cache is involved). */
    static void expect(TestHttp api, ConsoleReader console, String vm, String dev, String five) {
        expectAt(api, console, vm, dev, 0, five);
    }

    /** Asserts the first five bytes of the given sector of the device (O_DIRECT read). */
    static void expectAt(TestHttp api, ConsoleReader console, String vm, String dev, int sector, String five) {
        GuestConsole.expectAt(api, console, vm, dev, sector, five);
    }

    static JsonNode ok(TestHttp.Response r) {
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json();
    }

    static Duration timeout() {
        return T;
    }
}
