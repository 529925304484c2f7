package io.jvirt.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Driving the tiny guest's shell over the serial console: type a line, write or read a sector of a virtio disk and
 * wait for the shell's answer. Each command ends by printing a marker the typed text does not contain (an
 * arithmetic result), so the tty's echo of the command is never taken for its output.
 */
public final class GuestConsole {
    public static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final AtomicInteger MARK = new AtomicInteger();

    private GuestConsole() {
    }

    /** A console reader of the VM's current run, once the guest printed its ready line. */
    public static ConsoleReader ready(TestHttp api, String vm) throws IOException {
        ConsoleReader c = new ConsoleReader(api, vm);
        c.await(TestGuest.READY, 0, TIMEOUT);
        return c;
    }

    public static void type(TestHttp api, String vm, String line) {
        assertThat(api.postBytes("/v1/vms/" + vm + "/console", (line + "\n").getBytes()).status()).isEqualTo(204);
    }

    /** Writes a word to a 512-byte sector of /dev/{@code dev} with fsync and waits until the shell says it is done. */
    public static void writeAt(TestHttp api, ConsoleReader console, String vm, String dev, int sector, String word) {
        int m = MARK.incrementAndGet();
        int at = console.length();
        type(api, vm, "echo " + word + " | dd of=/dev/" + dev + " bs=512 seek=" + sector
                + " count=1 conv=notrunc,fsync 2>/dev/null; echo W" + m + "=$((" + m + "+1000))");
        console.await("W" + m + "=" + (m + 1000), at, TIMEOUT);
    }

    /** Asserts the first five bytes of a sector of /dev/{@code dev}, read with O_DIRECT (no guest cache involved). */
    public static void expectAt(TestHttp api, ConsoleReader console, String vm, String dev, int sector, String five) {
        int m = MARK.incrementAndGet();
        int at = console.length();
        type(api, vm, "echo R" + m + "=$(dd if=/dev/" + dev + " bs=512 skip=" + sector
                + " count=1 iflag=direct 2>/dev/null | head -c 5)=$((" + m + "+1000))");
        console.await("R" + m + "=" + five + "=" + (m + 1000), at, TIMEOUT);
    }
}
