package io.jvirt.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This host's available memory (MemAvailable), for Prepare's "can this host take the VM" check. */
final class HostMemory {
    private HostMemory() {
    }

    /** MiB, or -1 when /proc/meminfo cannot be read. */
    static long availableMiB() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemAvailable:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
