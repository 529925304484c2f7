package io.jvirt.storage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock per volume file, so operations on the same volume never interleave while different volumes proceed in
 * parallel. Several volumes (an overlay and its backing, a clone and its source) are locked in path order, so two
 * callers cannot deadlock.
 */
final class VolumeLocks {
    private final ConcurrentHashMap<Path, ReentrantLock> locks = new ConcurrentHashMap<>();

    /** Locks held until closed. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    Held lock(Path... files) {
        List<ReentrantLock> held = new ArrayList<>();
        for (Path f : new TreeSet<>(List.of(files))) {
            ReentrantLock l = locks.computeIfAbsent(f, k -> new ReentrantLock());
            l.lock();
            held.add(l);
        }
        return () -> {
            for (int i = held.size() - 1; i >= 0; i--) {
                held.get(i).unlock();
            }
        };
    }
}
