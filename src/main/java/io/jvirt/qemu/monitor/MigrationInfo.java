package io.jvirt.qemu.monitor;

import java.util.List;

/**
 * Reply of {@code query-migrate}; {@code errorDesc} says why a failed migration failed. Times in milliseconds;
 * {@code ram} is null before a migration starts; {@code socketAddress} is where an incoming migration listens
 * (the port QEMU chose for {@code tcp:HOST:0}).
 */
public record MigrationInfo(MigrationStatus status, String errorDesc, Long totalTime, Long setupTime, Long downtime,
                            Long expectedDowntime, Integer cpuThrottlePercentage, Ram ram,
                            List<SocketAddress> socketAddress) {

    public MigrationInfo {
        status = status == null ? MigrationStatus.NONE : status;
        socketAddress = socketAddress == null ? List.of() : socketAddress;
    }

    public MigrationInfo(MigrationStatus status, String errorDesc) {
        this(status, errorDesc, null, null, null, null, null, null, null);
    }

    /**
     * RAM counters: bytes, {@code mbps} megabits per second, {@code dirtyPagesRate} pages per second;
     * {@code multifdBytes} the part of {@code transferred} that went over multifd's parallel channels.
     */
    public record Ram(long transferred, long remaining, long total, double mbps, long dirtyPagesRate, long pageSize,
                      long dirtySyncCount, long multifdBytes) {
        /** The guest's dirty rate in bytes per second. */
        public long dirtyBytesRate() {
            return dirtyPagesRate * (pageSize == 0 ? 4096 : pageSize);
        }
    }

    public record SocketAddress(String type, String host, String port) {
    }

    /** The port an incoming migration listens on, or -1. */
    public int listeningPort() {
        return socketAddress.stream().filter(a -> "inet".equals(a.type()) && a.port() != null)
                .mapToInt(a -> Integer.parseInt(a.port())).findFirst().orElse(-1);
    }
}
