package io.jvirt.stats;

import io.jvirt.vm.JobProgress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One VM's statistics at one moment, as collected: each group is null when it was not asked for or its source
 * failed ({@code errors} says why). Counters are cumulative since QEMU started; times in nanoseconds, sizes in
 * bytes (libvirt's KiB are the view's business).
 */
public record VmSample(String vm, String state, String reason, Instant at, Set<StatsGroup> groups, Cpu cpu,
                       Balloon balloon, List<Vcpu> vcpus, Integer vcpuMaximum, List<Block> blocks, List<Net> nets,
                       List<IoThread> iothreads, Kvm kvm, List<JobProgress.Entry> jobs, Map<String, String> errors) {

    /** The QEMU process: CPU time of all its threads, and its resident memory. */
    public record Cpu(long timeNs, long userNs, long systemNs) {
    }

    /** {@code guest} holds the guest's own counters (bytes) once it has sent some; {@code lastUpdate} epoch seconds. */
    public record Balloon(long currentBytes, long maximumBytes, long rssBytes, Map<String, Long> guest, long lastUpdate) {
    }

    /** One vCPU: its host thread's state (R, S, ...), CPU time, and time it waited to run. */
    public record Vcpu(int index, long threadId, String threadState, long timeNs, long delayNs) {
    }

    /** One disk, named as jvirt names it; {@code allocation}: highest written offset of its file. */
    public record Block(String name, String path, long rdReqs, long rdBytes, long rdTimeNs, long wrReqs, long wrBytes,
                        long wrTimeNs, long flReqs, long flTimeNs, long allocation, long capacity, long physical) {
    }

    /**
     * One NIC, named as jvirt names it; {@code tap} its host device. Counters are the guest's view (the tap's
     * received bytes are what the guest sent); null for a user-mode NIC, which has no host device to count on.
     */
    public record Net(String name, String tap, String mac, Counters counters) {
    }

    public record Counters(long rxBytes, long rxPkts, long rxErrs, long rxDrop, long txBytes, long txPkts, long txErrs,
                           long txDrop) {
    }

    public record IoThread(String id, long threadId, long pollMaxNs, long pollGrow, long pollShrink) {
    }

    /**
     * KVM's counters from query-stats: those of the VM, and per vCPU index; each name with its value and its
     * schema type (cumulative, instant, peak).
     */
    public record Kvm(Map<String, KvmStats.Value> vm, Map<Integer, Map<String, KvmStats.Value>> vcpus) {
    }
}
