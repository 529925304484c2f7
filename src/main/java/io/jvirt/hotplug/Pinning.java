package io.jvirt.hotplug;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Host CPU affinity of QEMU's threads (vCPUs, IOThreads, the emulator): set with util-linux {@code taskset -p}
 * (sched_setaffinity; the JDK has no call for it) as an argument array, read back from
 * {@code /proc/TID/status} ({@code Cpus_allowed_list}).
 */
final class Pinning {
    private Pinning() {
    }

    static void pin(long threadId, String cpus) {
        List<String> cmd = List.of("taskset", "--cpu-list", "--pid", cpus, Long.toString(threadId));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new JvirtException(ErrorCode.INTERNAL, "cannot pin thread " + threadId + " to CPUs " + cpus + ": " + out,
                        Map.of("thread", threadId));
            }
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "cannot run taskset: " + e.getMessage(), Map.of(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "pinning interrupted");
        }
    }

    /** The thread's CPU list as the kernel has it, or null when the thread is gone. */
    static String affinity(long threadId) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + threadId + "/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** Every thread of process {@code pid}. */
    static List<Long> threads(long pid) {
        try (var s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            return s.map(p -> Long.parseLong(p.getFileName().toString())).sorted().toList();
        } catch (IOException | NumberFormatException e) {
            return List.of();
        }
    }
}
