package io.jvirt.stats;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What the host's kernel counts for a VM: the QEMU process's CPU time and resident memory, each vCPU thread's CPU
 * time and run delay ({@code /proc/PID/task/TID/stat} and {@code schedstat}, as libvirt and Incus read them), and
 * the taps' counters ({@code /proc/net/dev}, read once for all VMs and kept {@link #NET_MAX_AGE_NS}).
 */
final class HostCounters {
    /** USER_HZ: the unit of utime/stime in /proc stat files (100 on every Linux architecture jvirt runs on). */
    private static final long NS_PER_TICK = 10_000_000L;
    private static final long PAGE = 4096;
    private static final long NET_MAX_AGE_NS = 250_000_000L;
    private static final Path NET_DEV = Path.of("/proc/net/dev");

    private volatile Map<String, long[]> netDev = Map.of();
    private volatile long netDevAt;

    /** Fields of a stat line after the command name in parentheses (which may hold spaces): [state, ppid, ...]. */
    static String[] statFields(String stat) {
        int close = stat.lastIndexOf(')');
        return stat.substring(close + 2).trim().split(" +");
    }

    /** The process's CPU time (user, system) in ns, from /proc/PID/stat; null when it is gone. */
    VmSample.Cpu processCpu(long pid) {
        String stat = read(Path.of("/proc", Long.toString(pid), "stat"));
        if (stat == null) {
            return null;
        }
        String[] f = statFields(stat);
        long user = Long.parseLong(f[11]) * NS_PER_TICK; // field 14 utime: index 11 after "pid (comm)"
        long system = Long.parseLong(f[12]) * NS_PER_TICK;
        return new VmSample.Cpu(user + system, user, system);
    }

    /** Resident memory of the process in bytes (/proc/PID/statm), or -1. */
    long rssBytes(long pid) {
        String statm = read(Path.of("/proc", Long.toString(pid), "statm"));
        if (statm == null) {
            return -1;
        }
        return Long.parseLong(statm.trim().split(" +")[1]) * PAGE;
    }

    /** One thread's state letter, CPU time (ns) and run delay (ns); null when the thread is gone. */
    VmSample.Vcpu thread(long pid, int index, long tid) {
        Path task = Path.of("/proc", Long.toString(pid), "task", Long.toString(tid));
        String stat = read(task.resolve("stat"));
        if (stat == null) {
            return null;
        }
        String[] f = statFields(stat);
        long time = (Long.parseLong(f[11]) + Long.parseLong(f[12])) * NS_PER_TICK;
        long delay = 0;
        String sched = read(task.resolve("schedstat"));
        if (sched != null) {
            String[] s = sched.trim().split(" +");
            time = Math.max(time, Long.parseLong(s[0])); // schedstat counts in ns: finer than ticks
            delay = Long.parseLong(s[1]);
        }
        return new VmSample.Vcpu(index, tid, f[0], time, delay);
    }

    /**
     * A tap's counters seen from the guest: what the tap received is what the guest sent (libvirt swaps them the
     * same way); null when the device does not exist.
     */
    VmSample.Counters tap(String device) {
        long now = System.nanoTime();
        if (now - netDevAt > NET_MAX_AGE_NS) {
            netDev = parseNetDev(read(NET_DEV));
            netDevAt = now;
        }
        long[] c = netDev.get(device);
        if (c == null) {
            return null;
        }
        // /proc/net/dev: rx bytes packets errs drop fifo frame compressed multicast | tx bytes packets errs drop ...
        return new VmSample.Counters(c[8], c[9], c[10], c[11], c[0], c[1], c[2], c[3]);
    }

    static Map<String, long[]> parseNetDev(String text) {
        Map<String, long[]> out = new HashMap<>();
        if (text == null) {
            return out;
        }
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue; // the two header lines
            }
            String[] f = line.substring(colon + 1).trim().split(" +");
            if (f.length < 16) {
                continue;
            }
            long[] v = new long[16];
            for (int i = 0; i < 16; i++) {
                v[i] = Long.parseLong(f[i]);
            }
            out.put(line.substring(0, colon).trim(), v);
        }
        return out;
    }

    static long fileSize(String path) {
        try {
            return Files.size(Path.of(path));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static String read(Path p) {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }
}
