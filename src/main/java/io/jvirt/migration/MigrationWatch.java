package io.jvirt.migration;

import io.jvirt.qemu.monitor.BlockJobInfo;
import io.jvirt.qemu.monitor.MigrationInfo;
import io.jvirt.qemu.monitor.MigrationParameters;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.vm.JobProgress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress and convergence of one outgoing migration. State is decided by events elsewhere; this only samples
 * (query-migrate, query-block-jobs) for the numbers, on the waits between events. The ETA never runs backwards: it
 * is the smaller of the new estimate and the last one minus the time since, so a burst of dirty pages holds it
 * instead of pushing it up; the percentage never drops. Convergence: RAM remaining that has not shrunk over
 * {@link Convergence#STALL_PASSES} passes is a stall; {@link Convergence} says what to do then.
 */
final class MigrationWatch {
    private static final Logger log = LoggerFactory.getLogger(MigrationWatch.class);

    private final String id;
    private final String vm;
    private final String destination;
    private final Monitor monitor;
    private final List<String> mirrorJobs;
    private final JobProgress registry;
    private final Consumer<MigrationProgress> listener;
    private final Instant started = Instant.now();
    private volatile String phase = "begin";
    private long pass;
    private Long eta;
    private long etaAt;
    private int percent;
    private final Convergence policy;
    private String converging = "yes";
    private volatile MigrationProgress last;
    /** Why the policy gives up (the source then cancels), or null while there is hope. */
    private volatile String stalled;
    /** The last pass the policy was fed: it sees each pass once, at its start (see {@link #converge}). */
    private long policyPass;
    private final boolean multifd;

    MigrationWatch(String id, String vm, String destination, Monitor monitor, List<String> mirrorJobs, JobProgress registry,
                   Consumer<MigrationProgress> listener, long downtimeLimit, long maxDowntime, boolean autoConverge,
                   boolean multifd) {
        this.multifd = multifd;
        this.policy = new Convergence(downtimeLimit, maxDowntime, autoConverge);
        this.id = id;
        this.vm = vm;
        this.destination = destination;
        this.monitor = monitor;
        this.mirrorJobs = mirrorJobs;
        this.registry = registry;
        this.listener = listener;
    }

    void phase(String p) {
        phase = p;
        sample();
    }

    String phase() {
        return phase;
    }

    void pass(long p) {
        pass = p;
    }

    /** The convergence detector sees a stall (before any remedy was tried). */
    boolean notConverging() {
        return policy.stalled();
    }

    /** Why the convergence policy gave up, or null. */
    String stalled() {
        return stalled;
    }

    MigrationProgress last() {
        return last;
    }

    /** Samples QEMU's counters, reports them, and applies the convergence policy on a stall. */
    MigrationProgress sample() {
        MigrationInfo info;
        List<BlockJobInfo> jobs;
        try {
            info = monitor.migration().queryMigrate();
            jobs = mirrorJobs.isEmpty() ? List.of() : monitor.block().queryBlockJobs();
        } catch (MonitorException e) {
            return last; // QEMU busy at switch-over: keep the last numbers
        }
        MigrationInfo.Ram ram = info.ram();
        long rate = ram == null ? 0 : (long) (ram.mbps() * 1_000_000 / 8);
        MigrationProgress.Counter r = ram == null ? new MigrationProgress.Counter("ram", 0, 0, 0, 0)
                : new MigrationProgress.Counter("ram", ram.transferred(), ram.remaining(), ram.total(), rate);
        List<MigrationProgress.Counter> disks = new ArrayList<>();
        long diskLeft = 0;
        long diskTotal = 0;
        for (BlockJobInfo j : jobs) {
            if (mirrorJobs.contains(j.device())) {
                disks.add(new MigrationProgress.Counter(j.device().substring("migration-".length()), j.offset(),
                        Math.max(0, j.len() - j.offset()), j.len(), j.speed()));
                diskLeft += Math.max(0, j.len() - j.offset());
                diskTotal += j.len();
            }
        }
        long dirty = ram == null ? 0 : ram.dirtyBytesRate();
        if (ram != null && ram.dirtySyncCount() > pass) {
            pass = ram.dirtySyncCount();
        }
        converge(ram, dirty, rate);
        long left = (ram == null ? 0 : ram.remaining()) + diskLeft;
        long total = (ram == null ? 0 : ram.total()) + diskTotal;
        long now = System.nanoTime();
        if (rate > 0 && left > 0) {
            long estimate = Math.max(1, left / Math.max(1, rate - Math.min(dirty, rate / 2)));
            long held = eta == null ? estimate : Math.max(0, eta - (now - etaAt) / 1_000_000_000L);
            eta = eta == null ? estimate : Math.min(estimate, Math.max(held, 0));
            etaAt = now;
        }
        if (total > 0) {
            percent = Math.max(percent, (int) Math.min(99, 100 * (total - left) / total));
        }
        if ("completed".equals(phase) || "finish-sent".equals(phase) || "confirmed".equals(phase)) {
            percent = 100;
            eta = 0L;
        }
        MigrationProgress p = new MigrationProgress(id, vm, destination, phase, pass, r, disks, dirty,
                info.expectedDowntime(), info.downtime(), info.totalTime(), eta, percent, info.cpuThrottlePercentage(),
                converging, multifd && ram != null ? ram.multifdBytes() : null);
        last = p;
        registry.report(new JobProgress.Entry(vm, "migration", destination, id, phase, r.transferred() + (diskTotal - diskLeft),
                total, left, rate, null, Instant.now(), null, null));
        listener.accept(p);
        return p;
    }

    /**
     * Feeds the policy RAM remaining once per pass, at the pass's first sample (the source samples on each
     * MIGRATION_PASS event, right after QEMU's dirty bitmap sync): that is the pages dirtied during the last pass.
     * Samples later in a pass see QEMU working that set down and would make any migration look like it converges.
     */
    private void converge(MigrationInfo.Ram ram, long dirty, long rate) {
        if (ram == null) {
            return;
        }
        if (pass <= policyPass) {
            return;
        }
        policyPass = pass;
        Convergence.Action a = policy.sample(pass, ram.remaining());
        converging = policy.stalled() ? "no: the guest dirties " + mib(dirty) + " MiB/s, the link moves "
                + mib(rate) + " MiB/s" : "yes";
        switch (a) {
            case RAISE_DOWNTIME -> {
                log.info("migration {} of {}: not converging ({}); downtime limit raised to {} ms", id, vm, converging,
                        policy.downtimeLimit());
                monitor.migration().migrateSetParameters(new MigrationParameters(null, policy.downtimeLimit(), null, null));
            }
            // QEMU measures the dirty rate as the pages dirtied between two syncs, so it cannot exceed what the guest
            // dirtied during a pass: a guest rewriting its working set faster than the link shows about the link's
            // rate, and what is left after each pass says the rest
            case GIVE_UP -> stalled = "the migration does not converge: the guest dirties " + mib(dirty)
                    + " MiB/s, " + (dirty > rate + rate / 10 ? "more than" : "as fast as") + " the link's " + mib(rate)
                    + " MiB/s can carry (" + mib(ram.remaining())
                    + " MiB left after each of the last " + Convergence.STALL_PASSES + " passes; downtime limit already "
                    + policy.downtimeLimit() + " ms; allow a longer --max-downtime, --auto-converge, or more --bandwidth)";
            default -> { }
        }
    }

    /** Bytes (per second) in MiB with one decimal. */
    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f", bytes / 1048576.0);
    }

    /** The migration ended: the registry keeps its outcome for a while. */
    void ended(String outcome, String message) {
        MigrationProgress p = last;
        phase = outcome;
        if (p != null) {
            last = new MigrationProgress(p.id(), p.vm(), p.destination(), outcome, p.pass(), p.ram(), p.disks(), p.dirtyRate(),
                    p.expectedDowntimeMs(), p.downtimeMs(), p.totalTimeMs(), p.etaSeconds(), p.percent(), p.cpuThrottle(),
                    message == null ? p.converging() : message, p.multifdBytes());
            listener.accept(last);
        }
        registry.report(new JobProgress.Entry(vm, "migration", destination, id, phase,
                p == null ? 0 : p.ram().transferred(), p == null ? 0 : p.ram().total(), 0, 0, null, Instant.now(), outcome, message));
    }

    Duration elapsed() {
        return Duration.between(started, Instant.now());
    }
}
