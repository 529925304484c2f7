package io.jvirt.qemu;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntSupplier;

/**
 * The live output of one console, shared by all its followers: one ring buffer of the most recent bytes and, per
 * follower, only a position in it. Memory is one buffer per followed console however many follow it or however
 * slow they are; a follower that falls more than the buffer behind skips to the oldest byte still held and reads a
 * marker line saying how much it missed. The guest is never slowed down by a viewer.
 *
 * <p>The buffer exists only while someone follows (allocated by the first follower, dropped with the last).
 */
final class ConsoleRing {
    private final IntSupplier size;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition more = lock.newCondition();
    // guarded by lock
    private byte[] ring;
    private long written;
    private int followers;
    private boolean closed;

    ConsoleRing(IntSupplier size) {
        this.size = size;
    }

    void append(byte[] b, int off, int len) {
        lock.lock();
        try {
            if (ring != null) {
                int cap = ring.length;
                int skip = Math.max(0, len - cap); // only the last cap bytes can be held
                for (int i = skip; i < len; ) {
                    int at = (int) ((written + i) % cap);
                    int n = Math.min(len - i, cap - at);
                    System.arraycopy(b, off + i, ring, at, n);
                    i += n;
                }
                more.signalAll();
            }
            written += len;
        } finally {
            lock.unlock();
        }
    }

    /** A follower that sees every byte appended from now on (as far as it keeps up). */
    Follower follow() {
        lock.lock();
        try {
            if (ring == null) {
                ring = new byte[size.getAsInt()];
            }
            followers++;
            return new Follower(written);
        } finally {
            lock.unlock();
        }
    }

    /** The console has closed: followers read what is left, then the end. */
    void close() {
        lock.lock();
        try {
            closed = true;
            more.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Total bytes appended (what a follower starting now would start after). */
    long written() {
        lock.lock();
        try {
            return written;
        } finally {
            lock.unlock();
        }
    }

    final class Follower implements AutoCloseable {
        private long cursor;
        private boolean left;
        private long dropped;

        private Follower(long cursor) {
            this.cursor = cursor;
        }

        /**
         * Copies the next live bytes into {@code dst} (at most its length); 0 after {@code timeout} without output,
         * -1 once the console has closed and everything was read. A follower that fell behind reads a marker line
         * first.
         */
        int next(byte[] dst, long timeout, TimeUnit unit) throws InterruptedException {
            long nanos = unit.toNanos(timeout);
            lock.lock();
            try {
                while (cursor == written && !closed && !left) {
                    if (nanos <= 0) {
                        return 0;
                    }
                    nanos = more.awaitNanos(nanos);
                }
                if (cursor == written || left) {
                    return -1;
                }
                long oldest = written - ring.length;
                if (cursor < oldest) {
                    long missed = oldest - cursor;
                    dropped += missed;
                    cursor = oldest;
                    byte[] m = marker(missed).getBytes(StandardCharsets.UTF_8);
                    int len = Math.min(m.length, dst.length);
                    System.arraycopy(m, 0, dst, 0, len);
                    return len;
                }
                int n = (int) Math.min(dst.length, written - cursor);
                for (int i = 0; i < n; ) {
                    int at = (int) ((cursor + i) % ring.length);
                    int k = Math.min(n - i, ring.length - at);
                    System.arraycopy(ring, at, dst, i, k);
                    i += k;
                }
                cursor += n;
                return n;
            } finally {
                lock.unlock();
            }
        }

        /** Bytes this follower missed for being too slow. */
        long dropped() {
            lock.lock();
            try {
                return dropped;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (left) {
                    return;
                }
                left = true;
                if (--followers == 0) {
                    ring = null; // nobody follows: the memory goes
                }
                more.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    static String marker(long missed) {
        return "\r\n[jvirt: " + missed + " bytes dropped: viewer too slow]\r\n";
    }
}
