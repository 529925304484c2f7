package io.jvirt.qemu.monitor;

import io.jvirt.qmp.QmpArgs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads for statistics and for naming what the guest sees (get it from {@link Monitor#stats()}): block I/O
 * counters, the host threads of vCPUs and IOThreads, the balloon and the guest's memory counters it carries, KVM's
 * own statistics (query-stats), and the PCI addresses of devices. Every read has a short timeout of its own: a
 * scrape would rather report a VM stale than wait on a monitor that does not answer.
 */
public final class StatsCommands {
    /** How long a read may take before the caller gives up on this VM for now. */
    public static final Duration READ_TIMEOUT = Duration.ofSeconds(3);
    private final Monitor monitor;

    StatsCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    public List<StatsReplies.BlockStats> queryBlockstats() {
        return monitor.callForList("query-blockstats", null, READ_TIMEOUT, StatsReplies.BlockStats.class);
    }

    public List<StatsReplies.CpuInfo> queryCpusFast() {
        return monitor.callForList("query-cpus-fast", null, READ_TIMEOUT, StatsReplies.CpuInfo.class);
    }

    public StatsReplies.BalloonInfo queryBalloon() {
        return monitor.call("query-balloon", null, READ_TIMEOUT, StatsReplies.BalloonInfo.class);
    }

    /** The guest memory counters the balloon device {@code deviceId} last received (see {@link #setBalloonPolling}). */
    public StatsReplies.BalloonStats balloonGuestStats(String deviceId) {
        return monitor.call("qom-get", QmpArgs.of("path", peripheral(deviceId), "property", "guest-stats"),
                READ_TIMEOUT, StatsReplies.BalloonStats.class);
    }

    /** Seconds between the guest's memory reports (0: it sends none). */
    public long balloonPolling(String deviceId) {
        return monitor.call("qom-get", QmpArgs.of("path", peripheral(deviceId), "property",
                "guest-stats-polling-interval"), READ_TIMEOUT).asLong();
    }

    /** Asks the guest to send its memory counters every {@code seconds} (0 stops them). */
    public void setBalloonPolling(String deviceId, long seconds) {
        monitor.call("qom-set", QmpArgs.of("path", peripheral(deviceId), "property", "guest-stats-polling-interval",
                "value", seconds), READ_TIMEOUT);
    }

    public List<StatsReplies.IoThreadInfo> queryIothreads() {
        return monitor.callForList("query-iothreads", null, READ_TIMEOUT, StatsReplies.IoThreadInfo.class);
    }

    /**
     * Statistics of {@code target} ({@code vm} or {@code vcpu}) from {@code provider} (e.g. {@code kvm}); empty
     * when no accelerator provides any (TCG).
     */
    public List<StatsReplies.StatsResult> queryStats(String target, String provider) {
        return monitor.callForList("query-stats", QmpArgs.of("target", target,
                "providers", List.of(java.util.Map.of("provider", provider))), READ_TIMEOUT, StatsReplies.StatsResult.class);
    }

    /** What the statistics of {@code provider} are (types, units); empty under TCG. */
    public List<StatsReplies.StatsSchema> queryStatsSchemas(String provider) {
        return monitor.callForList("query-stats-schemas", QmpArgs.of("provider", provider), READ_TIMEOUT,
                StatsReplies.StatsSchema.class);
    }

    /** Every PCI device, flattened (bridges' devices included): where the guest finds a device by its address. */
    public List<StatsReplies.PciDevice> queryPci() {
        List<StatsReplies.PciDevice> all = new ArrayList<>();
        for (StatsReplies.PciBus b : monitor.callForList("query-pci", null, READ_TIMEOUT, StatsReplies.PciBus.class)) {
            flatten(b.devices(), all);
        }
        return all;
    }

    private static void flatten(List<StatsReplies.PciDevice> devices, List<StatsReplies.PciDevice> into) {
        for (StatsReplies.PciDevice d : devices) {
            into.add(d);
            if (d.pciBridge() != null) {
                flatten(d.pciBridge().devices(), into);
            }
        }
    }

    private static String peripheral(String deviceId) {
        return "/machine/peripheral/" + deviceId;
    }
}
