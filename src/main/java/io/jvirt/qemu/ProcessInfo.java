package io.jvirt.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Facts about a process read from /proc, used to make sure a recorded pid still belongs to our QEMU. */
public final class ProcessInfo {
    private ProcessInfo() {
    }

    /** The process's argument vector, or an empty list when it is gone (or already a zombie, whose cmdline is empty). */
    public static List<String> commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            if (raw.length == 0) {
                return List.of();
            }
            String s = new String(raw, StandardCharsets.UTF_8);
            return Arrays.asList(s.split("\0"));
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** True while the process exists and is not a zombie (a zombie has exited; only its parent has not reaped it). */
    public static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            char state = close > 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    /** True if pid is alive and its command line names {@code marker} as one argument or inside one. */
    public static boolean isOurs(long pid, String marker) {
        return isRunning(pid) && commandLine(pid).stream().anyMatch(arg -> arg.contains(marker));
    }

    /** Linux's USER_HZ: the unit of /proc/PID/stat's times (100 on every architecture Linux exposes it). */
    private static final long CLOCK_TICKS = 100;

    /**
     * When the process started (field 22 of /proc/PID/stat, clock ticks after boot, plus the boot time of
     * /proc/stat), or empty when it is gone. Precise to about a second (the boot time's unit): enough to tell a
     * recorded QEMU from a process that later got its recycled pid.
     */
    public static java.util.Optional<java.time.Instant> startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(after[22 - 3]); // fields 3.. follow the command name
            return java.util.Optional.of(bootTime().plusMillis(ticks * 1000 / CLOCK_TICKS));
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    private static java.time.Instant bootTime() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
            if (line.startsWith("btime ")) {
                return java.time.Instant.ofEpochSecond(Long.parseLong(line.substring(6).strip()));
            }
        }
        throw new IOException("no btime in /proc/stat");
    }
}
