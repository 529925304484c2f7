package io.jvirt.vm;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How far the long jobs of VMs are (a block copy now, a migration later), for stats and metrics: each job reports
 * its bytes while it runs and its outcome when it ends, and an ended job stays visible for {@link #RETENTION}, so
 * a scrape every minute still sees how a short job went (exporters that drop job metrics the moment a job ends
 * lose them). Memory is bounded: at most {@link #ENDED_PER_VM} ended jobs per VM are kept.
 */
public final class JobProgress {
    public static final Duration RETENTION = Duration.ofMinutes(10);
    static final int ENDED_PER_VM = 8;

    /**
     * One job: {@code kind} (e.g. {@code blockcopy}, {@code migration}), {@code target} (a disk, a destination
     * host; "" when the job has one per VM), {@code phase} in the job's own words; bytes as the job counts them
     * ({@code rate} bytes/s). {@code outcome} is null while it runs, then e.g. {@code pivoted}, {@code failed}.
     */
    public record Entry(String vm, String kind, String target, String job, String phase, long transferred, long total,
                        long remaining, long rate, Instant started, Instant updated, String outcome, String message) {
        public boolean active() {
            return outcome == null;
        }

        String key() {
            return vm + "\u0000" + kind + "\u0000" + target;
        }
    }

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    /** Records where a job is (or how it ended: {@code outcome} set); the latest report of a job replaces the last. */
    public void report(Entry e) {
        Entry before = entries.get(e.key());
        Entry kept = before != null && before.job().equals(e.job()) && e.started() == null
                ? new Entry(e.vm(), e.kind(), e.target(), e.job(), e.phase(), e.transferred(), e.total(), e.remaining(),
                        e.rate(), before.started(), e.updated(), e.outcome(), e.message())
                : e;
        entries.put(e.key(), kept);
        if (!e.active()) {
            trim(e.vm());
        }
    }

    /** Every job under way and every one ended within the retention, oldest first. */
    public List<Entry> all() {
        expire();
        List<Entry> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparing(Entry::updated));
        return out;
    }

    public List<Entry> of(String vm) {
        return all().stream().filter(e -> e.vm().equals(vm)).toList();
    }

    private void expire() {
        Instant horizon = Instant.now().minus(RETENTION);
        entries.values().removeIf(e -> !e.active() && e.updated().isBefore(horizon));
    }

    private void trim(String vm) {
        List<Entry> ended = entries.values().stream().filter(e -> e.vm().equals(vm) && !e.active())
                .sorted(Comparator.comparing(Entry::updated).reversed()).toList();
        for (int i = ENDED_PER_VM; i < ended.size(); i++) {
            entries.remove(ended.get(i).key(), ended.get(i));
        }
    }
}
