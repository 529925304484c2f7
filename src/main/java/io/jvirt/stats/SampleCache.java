package io.jvirt.stats;

import io.jvirt.qemu.QemuInstance;
import io.jvirt.vm.LiveVm;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest sample of each VM, so that scrapes and {@code top} cost the VMs little: a sample younger than the
 * caller's max age is served as it is; others are collected again, all VMs at once on virtual threads, and at most
 * one collection per VM is under way (a second caller joins it). A caller waits at most its budget: a VM whose
 * collection takes longer (a monitor that does not answer) is served from its previous sample, marked stale, or
 * left out, and its collection goes on to refresh the cache for the next caller. Nothing here waits for a job.
 */
final class SampleCache {
    private static final Logger log = LoggerFactory.getLogger(SampleCache.class);
    private final StatsCollector collector;
    private final Map<String, Entry> latest = new ConcurrentHashMap<>();
    private final Map<String, Pending> inFlight = new ConcurrentHashMap<>();

    private record Entry(VmSample sample, Set<StatsGroup> asked, long atNanos, QemuInstance qemu) {
    }

    private record Pending(Set<StatsGroup> asked, CompletableFuture<VmSample> future) {
    }

    /** What a caller gets: the samples (in the order asked), and the VMs served stale or not at all. */
    record Result(List<VmSample> samples, List<String> stale, List<String> missing) {
    }

    SampleCache(StatsCollector collector) {
        this.collector = collector;
    }

    Result samples(List<LiveVm> vms, Set<StatsGroup> groups, Duration maxAge, Duration budget) {
        long now = System.nanoTime();
        Map<String, CompletableFuture<VmSample>> waiting = new LinkedHashMap<>();
        for (LiveVm vm : vms) {
            Entry e = latest.get(vm.name());
            if (e != null && fresh(e, vm, groups, now, maxAge)) {
                waiting.put(vm.name(), CompletableFuture.completedFuture(e.sample()));
            } else {
                waiting.put(vm.name(), collect(vm, groups));
            }
        }
        long deadline = now + budget.toNanos();
        List<VmSample> samples = new ArrayList<>();
        List<String> stale = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (var w : waiting.entrySet()) {
            VmSample s = await(w.getValue(), deadline);
            if (s == null) {
                Entry e = latest.get(w.getKey());
                if (e != null) {
                    samples.add(e.sample());
                    stale.add(w.getKey());
                } else {
                    missing.add(w.getKey());
                }
            } else {
                samples.add(s);
            }
        }
        return new Result(samples, stale, missing);
    }

    /** Forgets VMs that are no longer defined. */
    void retain(Set<String> names) {
        latest.keySet().retainAll(names);
    }

    private static boolean fresh(Entry e, LiveVm vm, Set<StatsGroup> groups, long now, Duration maxAge) {
        return now - e.atNanos() <= maxAge.toNanos() && e.asked().containsAll(groups) && e.qemu() == vm.qemu()
                && e.sample().state().equals(vm.state().wire());
    }

    private CompletableFuture<VmSample> collect(LiveVm vm, Set<StatsGroup> groups) {
        Pending p = inFlight.get(vm.name());
        if (p != null && p.asked().containsAll(groups)) {
            return p.future();
        }
        Set<StatsGroup> asked = EnumSet.copyOf(groups);
        CompletableFuture<VmSample> f = new CompletableFuture<>();
        Pending mine = new Pending(asked, f);
        inFlight.put(vm.name(), mine);
        Thread.ofVirtual().name("stats-" + vm.name()).start(() -> {
            try {
                VmSample s = collector.collect(vm, asked);
                latest.put(vm.name(), new Entry(s, asked, System.nanoTime(), vm.qemu()));
                f.complete(s);
            } catch (RuntimeException e) {
                log.warn("VM {}: stats collection failed: {}", vm.name(), e.toString());
                f.completeExceptionally(e);
            } finally {
                inFlight.remove(vm.name(), mine);
            }
        });
        return f;
    }

    private static VmSample await(CompletableFuture<VmSample> f, long deadline) {
        try {
            return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
