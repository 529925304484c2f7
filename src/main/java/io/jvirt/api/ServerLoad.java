package io.jvirt.api;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the daemon carries right now, for {@code GET /v1/host} ({@code server}): open connections, streams and
 * waits against their limits, and the daemon's own heap (used now, and live after the last collection, which is
 * the figure that shows whether memory grows).
 */
final class ServerLoad {
    private final ClientLimits limits;
    private volatile ConnectionGuard guard;
    private volatile ClientGate gate;

    ServerLoad(ClientLimits limits) {
        this.limits = limits;
    }

    void attach(ConnectionGuard guard, ClientGate gate) {
        this.guard = guard;
        this.gate = gate;
    }

    Map<String, Object> withFacts(Map<String, Object> facts) {
        Map<String, Object> all = new LinkedHashMap<>(facts);
        all.put("server", view());
        return all;
    }

    Map<String, Object> view() {
        Map<String, Object> m = new LinkedHashMap<>();
        ConnectionGuard g = guard;
        ClientGate c = gate;
        m.put("connections", g == null ? 0 : g.connections());
        m.put("streams", c == null ? 0 : c.openStreams());
        m.put("waits", c == null ? 0 : c.openWaits());
        m.put("queuedJobs", c == null ? 0 : c.queuedJobs());
        Map<String, Object> all = new LinkedHashMap<>(limits.view());
        all.putAll(io.jvirt.qemu.ConsolePolicy.global().view());
        m.put("limits", all);
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        m.put("heapUsedBytes", heap.getUsed());
        m.put("heapCommittedBytes", heap.getCommitted());
        m.put("heapMaxBytes", heap.getMax());
        m.put("heapLiveAfterGcBytes", liveAfterLastGc());
        m.put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
        return m;
    }

    /** Heap in use right after the most recent collection of any collector (-1 before the first one). */
    private static long liveAfterLastGc() {
        java.util.Set<String> heapPools = new java.util.HashSet<>();
        for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == java.lang.management.MemoryType.HEAP) {
                heapPools.add(pool.getName());
            }
        }
        long bestTime = -1;
        long live = -1;
        for (var bean : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (bean instanceof com.sun.management.GarbageCollectorMXBean gc) {
                com.sun.management.GcInfo info = gc.getLastGcInfo();
                if (info != null && info.getEndTime() > bestTime) {
                    bestTime = info.getEndTime();
                    live = info.getMemoryUsageAfterGc().entrySet().stream()
                            .filter(e -> heapPools.contains(e.getKey()) && e.getValue() != null)
                            .mapToLong(e -> e.getValue().getUsed()).sum();
                }
            }
        }
        return live;
    }
}
