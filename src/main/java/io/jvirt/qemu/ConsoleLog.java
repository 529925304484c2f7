package io.jvirt.qemu;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * A VM's {@code console.log}, written by QEMU itself (chardev {@code logfile=}, opened {@code O_APPEND}), kept
 * under a size cap by the daemon, and read by range without holding it in memory.
 *
 * <p><b>Rotation.</b> QEMU cannot be told to reopen its log, so the daemon rotates by copy and truncate: the file
 * is copied to {@code console.log.1} (a temp file renamed over the old one) and truncated to zero; QEMU's next append lands at offset 0 because the file is {@code O_APPEND}. The trigger is the
 * byte count the daemon sees on its console connection ({@link #received}): QEMU writes each chunk to the socket
 * first and to the log right after, so that count is the log's size give or take the chunk in flight. Bytes QEMU
 * appends between the copy's last read and the truncate (microseconds, under the lock) are in neither file; live
 * viewers still get them. While the daemon is down nobody rotates: the log grows by whatever the guest prints
 * meanwhile, and the next daemon rotates it when it connects (a file over twice the cap keeps only its
 * last {@code cap} bytes).
 *
 * <p><b>Positions.</b> {@link #mark()} gives the log's end as the daemon has seen it, with the rotation
 * generation. A {@link Reader} reads a range of the file as of a mark; if a rotation happens while it reads, it
 * carries on in {@code console.log.1}, which holds the same bytes (once opened, that file never changes under it,
 * renames notwithstanding). Two rotations during one read are reported in the stream with a marker line.
 */
public final class ConsoleLog {
    /** The log's end as of one moment: bytes [0, end) of the file of rotation {@code generation}. */
    public record Mark(long generation, long end) {
    }

    private final Path file;
    private final Path rotated;
    private final LongSupplier cap;
    private final ReentrantLock lock = new ReentrantLock();
    // guarded by lock; the file's size as the daemon has seen it (may be negative right after a rotation: the file
    // had received bytes the daemon had not read from the socket yet, so they went to console.log.1)
    private long end;
    private long generation;
    /** The file offset at which the last rotation's copy started (console.log.1 holds [rotatedFrom, ...)). */
    private long rotatedFrom;

    private ConsoleLog(Path file, LongSupplier cap, long end) {
        this.file = file;
        this.rotated = file.resolveSibling(file.getFileName() + ".1");
        this.cap = cap;
        this.end = end;
    }

    /** The log as it is now; {@code cap} is read at each check. */
    public static ConsoleLog open(Path file, LongSupplier cap) {
        return new ConsoleLog(file, cap, size(file));
    }

    public Path file() {
        return file;
    }

    /** The daemon received {@code n} console bytes, which QEMU appends to the file; true if the log reached its cap. */
    boolean received(int n) {
        lock.lock();
        try {
            end += n;
            return end >= cap.getAsLong();
        } finally {
            lock.unlock();
        }
    }

    /** Whether the file itself is at or above the cap (checked when the daemon connects). */
    boolean overCap() {
        return size(file) >= cap.getAsLong();
    }

    public Mark mark() {
        lock.lock();
        try {
            return new Mark(generation, Math.max(0, end));
        } finally {
            lock.unlock();
        }
    }

    /** Copies the file's last {@code cap} bytes to console.log.1 and truncates it; see the class comment. */
    void rotate() throws IOException {
        Path tmp = rotated.resolveSibling(rotated.getFileName() + ".tmp");
        long limit = cap.getAsLong();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
             // 0600 whatever the umask: console history holds what users typed, passwords included
             FileChannel out = io.jvirt.files.FileModes.open(tmp, io.jvirt.files.FileModes.PRIVATE_FILE,
                     StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            // normally the file is just over the cap and is kept whole; one that grew far beyond (no daemon
            // watched it) keeps its last cap bytes, so neither file is ever much over the cap
            long from = in.size() > 2 * limit ? in.size() - limit : 0;
            long copied = copy(in, out, from, in.size()); // the bulk, while QEMU keeps appending
            lock.lock();
            try {
                long size = in.size();
                copied = copy(in, out, copied, size); // what came meanwhile
                Files.move(tmp, rotated, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                in.truncate(0);
                generation++;
                rotatedFrom = from;
                end -= size;
            } finally {
                lock.unlock();
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Copies [from, to) of {@code in} to the end of {@code out}; returns {@code to}. */
    private static long copy(FileChannel in, FileChannel out, long from, long to) throws IOException {
        long at = from;
        while (at < to) {
            long n = in.transferTo(at, to - at, out);
            if (n <= 0) {
                break; // the file shrank (someone truncated it): nothing more to copy
            }
            at += n;
        }
        return at;
    }

    /**
     * Console history copied out of this log (a migration carries it to the destination): {@code bytes} end at
     * {@code upTo}; {@code skipped} bytes before them were left out to stay within the size asked for (-1: an unknown
     * number, the log rotated meanwhile).
     */
    public record Tail(Mark upTo, byte[] bytes, long skipped) {
    }

    /**
     * The history's last {@code max} bytes, read from the file itself (not the daemon's count, which may lag QEMU's
     * last write by one chunk), under the lock so a rotation cannot cut through the read. A file shorter than
     * {@code max} just after a rotation is preceded by the end of {@code console.log.1}, but only of a rotation this
     * log made (before one, console.log.1 may hold a previous run's output).
     */
    public Tail tail(int max) throws IOException {
        lock.lock();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            long from = Math.max(0, size - max);
            byte[] current = readRange(in, from, size);
            if (current.length < max && generation > 0 && Files.exists(rotated)) {
                try (FileChannel old = FileChannel.open(rotated, StandardOpenOption.READ)) {
                    long oldSize = old.size();
                    byte[] before = readRange(old, Math.max(0, oldSize - (max - current.length)), oldSize);
                    byte[] both = java.util.Arrays.copyOf(before, before.length + current.length);
                    System.arraycopy(current, 0, both, before.length, current.length);
                    return new Tail(new Mark(generation, size), both, Math.max(0, oldSize - before.length));
                }
            }
            return new Tail(new Mark(generation, size), current, from);
        } finally {
            lock.unlock();
        }
    }

    /**
     * What the log gained since {@code since} (a {@link Tail#upTo()} of this log), at most its last {@code max}
     * bytes. After a rotation (more than the cap was printed meanwhile) the current file's last {@code max} bytes,
     * with {@code skipped} -1.
     */
    public Tail since(Mark since, int max) throws IOException {
        lock.lock();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            Mark now = new Mark(generation, size);
            if (since.generation() != generation || size < since.end()) {
                return new Tail(now, readRange(in, Math.max(0, size - max), size), -1);
            }
            long from = Math.max(since.end(), size - max);
            return new Tail(now, readRange(in, from, size), from - since.end());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Appends history that is not the guest's output on this host (a migrated VM's console from the source) while
     * the guest cannot print (its QEMU waits for the migration, paused): QEMU's own appends come after it. Counted
     * like received bytes, so the cap and rotation hold as for the guest's output; true if the log reached its cap.
     */
    boolean appendHistory(byte[] bytes) throws IOException {
        lock.lock();
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                out.write(b);
            }
            end += bytes.length;
            return end >= cap.getAsLong();
        } finally {
            lock.unlock();
        }
    }

    private static byte[] readRange(FileChannel in, long from, long to) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.max(0, to - from));
        while (b.hasRemaining()) {
            if (in.read(b, from + b.position()) < 0) {
                break; // the file shrank meanwhile (truncated by hand): what there was
            }
        }
        return b.position() == b.capacity() ? b.array() : java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** Bytes [start, mark.end) of the file as of {@code mark}. */
    public Reader read(Mark mark, long start) {
        return new Reader(mark.generation(), Math.min(Math.max(0, start), mark.end()), mark.end());
    }

    /**
     * As {@link #read(Mark, long)}, preceded by the last {@code before} bytes of console.log.1: a tail longer than
     * the file since the last rotation (right after one, the file holds only a few bytes) reaches into the rotated
     * copy, which holds what came just before them.
     */
    public Reader read(Mark mark, long start, long before) {
        Reader r = read(mark, start);
        if (before > 0 && r.pos == 0) {
            lock.lock();
            try {
                if (generation == mark.generation() && Files.exists(rotated)) {
                    // opened now: a rotation while it is read replaces the name, not this file's bytes
                    r.prefix = FileChannel.open(rotated, StandardOpenOption.READ);
                    r.prefixEnd = r.prefix.size();
                    r.prefixPos = Math.max(0, r.prefixEnd - before);
                }
            } catch (IOException e) {
                r.prefix = null; // no rotated copy to read: the tail is what the file has
            } finally {
                lock.unlock();
            }
        }
        return r;
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Streams a range of the log; {@link #read(byte[])} never returns more than the caller's buffer. */
    public final class Reader implements Closeable {
        private final long generation0;
        private long pos;
        private long limit;
        private FileChannel channel;
        private boolean onRotated;
        private long shift;
        private int catchUpWaits;
        private FileChannel prefix; // console.log.1's [prefixPos, prefixEnd), served before the range itself
        private long prefixPos;
        private long prefixEnd;

        private Reader(long generation0, long start, long limit) {
            this.generation0 = generation0;
            this.pos = start;
            this.limit = limit;
        }

        /** The first offset this reader serves (after clamping). */
        public long position() {
            return pos;
        }

        /** Fills {@code dst} from the front; returns the count, or -1 at the range's end. */
        public int read(byte[] dst) throws IOException {
            if (prefix != null) {
                int n = prefixPos < prefixEnd
                        ? prefix.read(ByteBuffer.wrap(dst, 0, (int) Math.min(dst.length, prefixEnd - prefixPos)), prefixPos) : -1;
                if (n > 0) {
                    prefixPos += n;
                    return n;
                }
                prefix.close();
                prefix = null;
            }
            while (pos < limit) {
                int n;
                lock.lock();
                try {
                    String marker = followRotation();
                    if (marker != null) {
                        byte[] m = marker.getBytes(StandardCharsets.UTF_8);
                        int len = Math.min(m.length, dst.length);
                        System.arraycopy(m, 0, dst, 0, len);
                        return len;
                    }
                    if (channel == null) {
                        try {
                            channel = FileChannel.open(file, StandardOpenOption.READ);
                        } catch (NoSuchFileException e) {
                            return -1;
                        }
                    }
                    n = channel.read(ByteBuffer.wrap(dst, 0, (int) Math.min(dst.length, limit - pos)), pos - shift);
                } finally {
                    lock.unlock();
                }
                if (n > 0) {
                    pos += n;
                    return n;
                }
                // QEMU writes the socket before the log, so the last bytes the daemon saw may reach the file a
                // moment later; a file that stays shorter (truncated by hand) ends the range there.
                if (onRotated || ++catchUpWaits > 50) {
                    limit = pos;
                    break;
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            return -1;
        }

        /** Under the lock: switches to console.log.1 after one rotation; a marker when bytes were lost. */
        private String followRotation() throws IOException {
            if (onRotated || generation == generation0) {
                return null;
            }
            closeChannel();
            if (generation == generation0 + 1) {
                onRotated = true;
                shift = rotatedFrom;
                channel = FileChannel.open(rotated, StandardOpenOption.READ);
                if (pos < shift) {
                    long lost = shift - pos;
                    pos = shift;
                    return "\r\n[jvirt: " + lost + " bytes rotated away]\r\n";
                }
                return null;
            }
            long lost = limit - pos;
            pos = limit;
            return "\r\n[jvirt: " + lost + " bytes of console history rotated away while being read]\r\n";
        }

        private void closeChannel() throws IOException {
            if (channel != null) {
                channel.close();
                channel = null;
            }
        }

        @Override
        public void close() throws IOException {
            lock.lock();
            try {
                if (prefix != null) {
                    prefix.close();
                    prefix = null;
                }
                closeChannel();
            } finally {
                lock.unlock();
            }
        }
    }
}
