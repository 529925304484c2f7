package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * The replies of the {@link StatsCommands} group as records. QEMU names block statistics and PCI fields with
 * underscores (not kebab-case): those carry their wire names.
 */
public final class StatsReplies {
    private StatsReplies() {
    }

    /** query-blockstats: one device's counters, and those of the node below its top (the protocol/file node). */
    public record BlockStats(String device, String qdev, String nodeName, BlockDeviceStats stats, Parent parent) {
    }

    public record Parent(String nodeName, BlockDeviceStats stats) {
    }

    /** Counters since QEMU started; times in nanoseconds. */
    public record BlockDeviceStats(
            @JsonProperty("rd_bytes") long rdBytes,
            @JsonProperty("wr_bytes") long wrBytes,
            @JsonProperty("rd_operations") long rdOperations,
            @JsonProperty("wr_operations") long wrOperations,
            @JsonProperty("flush_operations") long flushOperations,
            @JsonProperty("rd_total_time_ns") long rdTotalTimeNs,
            @JsonProperty("wr_total_time_ns") long wrTotalTimeNs,
            @JsonProperty("flush_total_time_ns") long flushTotalTimeNs,
            @JsonProperty("wr_highest_offset") long wrHighestOffset) {
    }

    /** query-cpus-fast: a vCPU and the host thread that runs it. */
    public record CpuInfo(int cpuIndex, String qomPath, long threadId, String target) {
    }

    /** query-balloon: the guest's memory as the balloon leaves it, in bytes. */
    public record BalloonInfo(long actual) {
    }

    /**
     * The balloon's {@code guest-stats} property: the guest's own memory counters ({@code stat-free-memory}, ... in
     * bytes) and when it last sent them (seconds since the epoch, 0: never). A counter the guest does not report
     * reads 2^64-1 (QEMU's "no value"): numbers stay as Jackson reads them (a BigInteger then), for the reader to
     * leave out.
     */
    public record BalloonStats(Map<String, Number> stats, long lastUpdate) {
        public BalloonStats {
            stats = stats == null ? Map.of() : Map.copyOf(stats);
        }
    }

    /** query-iothreads: an IOThread, its host thread and its polling parameters. */
    public record IoThreadInfo(String id, long threadId, long pollMaxNs, long pollGrow, long pollShrink) {
    }

    /**
     * query-stats: one provider's statistics of one target (the VM, or a vCPU named by {@code qomPath}). A
     * {@code value} is a number, a boolean, or a histogram's list of bucket counts.
     */
    public record StatsResult(String provider, String qomPath, List<Stat> stats) {
        public StatsResult {
            stats = stats == null ? List.of() : List.copyOf(stats);
        }
    }

    public record Stat(String name, Object value) {
    }

    /** query-stats-schemas: what each statistic of a provider and target is. */
    public record StatsSchema(String provider, String target, List<StatSchema> stats) {
        public StatsSchema {
            stats = stats == null ? List.of() : List.copyOf(stats);
        }
    }

    /**
     * {@code type}: cumulative, instant, peak, linear-histogram, log2-histogram; {@code unit} (seconds, bytes,
     * cycles, boolean; null: a plain count) scaled by {@code base}^{@code exponent}.
     */
    public record StatSchema(String name, String type, String unit, int base, int exponent, Integer bucketSize) {
    }

    /** query-pci: one bus and its devices (bridges carry the buses behind them). */
    public record PciBus(int bus, List<PciDevice> devices) {
        public PciBus {
            devices = devices == null ? List.of() : List.copyOf(devices);
        }
    }

    public record PciDevice(int bus, int slot, int function, @JsonProperty("qdev_id") String qdevId,
                            @JsonProperty("pci_bridge") PciBridge pciBridge) {
    }

    public record PciBridge(List<PciDevice> devices) {
        public PciBridge {
            devices = devices == null ? List.of() : List.copyOf(devices);
        }
    }
}
