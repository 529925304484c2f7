package io.jvirt.migration;

import java.util.List;

/**
 * Where a migration is, as the API and the CLI show it: RAM and each copied disk (bytes transferred, remaining,
 * total; rates in bytes/s), QEMU's expected downtime, the pass over dirty RAM, and an ETA that never runs
 * backwards (see {@link MigrationWatch}); {@code multifdBytes}: RAM bytes sent over the parallel channels of a
 * {@code --parallel} migration (null without).
 */
public record MigrationProgress(String id, String vm, String destination, String phase, long pass, Counter ram,
                                List<Counter> disks, long dirtyRate, Long expectedDowntimeMs, Long downtimeMs,
                                Long totalTimeMs, Long etaSeconds, int percent, Integer cpuThrottle, String converging,
                                Long multifdBytes) {

    public record Counter(String name, long transferred, long remaining, long total, long rate) {
    }
}
