package io.jvirt.hotplug;

import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestHttp;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/** The tiny guest's own view ({@code guestinfo} on its console: memory, online CPUs, disks, NICs). */
public record GuestInfo(long memKb, String cpus, int ncpus, String disks, String nics) {

    public static GuestInfo read(TestHttp api, ConsoleReader console, String vm) {
        // a marker the shell computes (the typed line shows only the sum's terms): the reading after it is this
        // one, never an older one in history the reader is still loading (a migrated VM's console carries A's)
        long n = java.util.concurrent.ThreadLocalRandom.current().nextLong(1_000_000_000L);
        String marker = "GI-" + (n + 7) + "-GO";
        GuestConsole.type(api, vm, "echo GI-$((" + n + "+7))-GO; guestinfo");
        int at = console.await(marker, 0, Duration.ofSeconds(20));
        int start = console.await("GUESTINFO mem_kb=", at, Duration.ofSeconds(20)) - "GUESTINFO mem_kb=".length();
        int end = console.await("=END", start, GuestConsole.TIMEOUT);
        String line = console.text().substring(start, end);
        Map<String, String> f = new LinkedHashMap<>();
        for (String part : line.split("\\s+")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                f.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        return new GuestInfo(Long.parseLong(f.get("mem_kb")), f.get("cpus"), Integer.parseInt(f.get("ncpus")),
                f.getOrDefault("disks", ""), f.getOrDefault("nics", ""));
    }

    /**
     * Reads until the guest shows {@code wanted} (the guest onlines hot-added memory and CPUs on its own, a moment
     * after QEMU plugged them): the guest's view, asked again every half second, up to {@code timeout}.
     */
    public static GuestInfo await(TestHttp api, ConsoleReader console, String vm, Predicate<GuestInfo> wanted, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        GuestInfo g = read(api, console, vm);
        while (!wanted.test(g)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest never showed what was expected; last: " + g);
            }
            Thread.sleep(500);
            g = read(api, console, vm);
        }
        return g;
    }

    long memMiB() {
        return memKb / 1024;
    }
}
