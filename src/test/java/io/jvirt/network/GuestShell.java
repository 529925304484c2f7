package io.jvirt.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The tiny guest's shell over its serial console: {@link #run} types a command and returns what it printed, up to
 * an end marker the typed text does not contain (an arithmetic result), so the tty's echo is never taken for output.
 */
final class GuestShell implements AutoCloseable {
    private static final AtomicInteger MARK = new AtomicInteger(100);
    private final TestHttp api;
    private final String vm;
    private final ConsoleReader console;

    private GuestShell(TestHttp api, String vm, ConsoleReader console) {
        this.api = api;
        this.vm = vm;
        this.console = console;
    }

    /** Once the guest printed its ready line. */
    static GuestShell open(TestHttp api, String vm) throws IOException {
        return new GuestShell(api, vm, GuestConsole.ready(api, vm));
    }

    /** Runs {@code command}; returns its output (and the status as {@code RC=n} on the last line). */
    String run(String command, Duration timeout) {
        int m = MARK.incrementAndGet();
        int from = console.length();
        GuestConsole.type(api, vm, command + "; echo \"RC=$? E" + m + "=$((" + m + "+1000))\"");
        String marker = "E" + m + "=" + (m + 1000);
        int end = console.await(marker, from, timeout);
        String text = console.text().substring(from, end - marker.length());
        int echo = text.indexOf('\n'); // the echoed command line ends here
        return echo < 0 ? text : text.substring(echo + 1);
    }

    String run(String command) {
        return run(command, Duration.ofSeconds(60));
    }

    /** The guest's IPv4 address on {@code dev} once DHCP configured it (the guest runs udhcpc at boot). */
    String awaitAddress(String dev, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String out = run("ip -4 -o addr show dev " + dev + " | awk '{print \"AD\" \"DR=\" $4}'");
            int i = out.indexOf("ADDR=");
            if (i >= 0) {
                String a = out.substring(i + 5).split("[/\\s]")[0];
                if (!a.isBlank()) {
                    return a;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(vm + ": no DHCP address on " + dev + " within " + timeout + "; last: " + out);
            }
            sleep(500);
        }
    }

    static JsonNode awaitLease(TestHttp api, String network, String mac, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (JsonNode l : api.get("/v1/networks/" + network + "/leases").json()) {
                if (mac.equals(l.path("mac").asText())) {
                    return l;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no lease for " + mac + " on " + network + " within " + timeout);
            }
            sleep(200);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() throws IOException {
        console.close();
    }
}
