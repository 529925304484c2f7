package io.jvirt.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotation and range reads of a console log written the way QEMU writes it (an O_APPEND file descriptor). */
class ConsoleLogTest {
    static final int CAP = 64 << 10;
    @TempDir
    Path dir;

    /** A stand-in for QEMU's logfile= writer: one O_APPEND descriptor kept open across rotations. */
    static final class AppendWriter implements AutoCloseable {
        final FileOutputStream out;
        final ByteArrayOutputStream all = new ByteArrayOutputStream();
        int counter;

        AppendWriter(Path file) throws IOException {
            out = new FileOutputStream(file.toFile(), true);
        }

        byte[] write(int n) throws IOException {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) ('a' + (counter++ % 23));
            }
            out.write(b);
            all.write(b);
            return b;
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    @Test
    void rotatesAtTheCapKeepingEveryByteInTheTwoFiles() throws IOException {
        Path file = dir.resolve("console.log");
        Files.createFile(file);
        ConsoleLog log = ConsoleLog.open(file, () -> CAP);
        int rotations = 0;
        try (AppendWriter qemu = new AppendWriter(file)) {
            for (int i = 0; i < 400; i++) {
                int n = 1000 + (i * 37) % 3000;
                qemu.write(n);
                if (log.received(n)) {
                    log.rotate();
                    rotations++;
                }
                assertThat(Files.size(file)).isLessThan(CAP);
            }
            assertThat(rotations).isGreaterThan(5);
            byte[] rotated = Files.readAllBytes(dir.resolve("console.log.1"));
            byte[] current = Files.readAllBytes(file);
            assertThat(rotated.length).isBetween(CAP, CAP + 4000);
            byte[] all = qemu.all.toByteArray();
            byte[] expected = Arrays.copyOfRange(all, all.length - rotated.length - current.length, all.length);
            byte[] got = concat(rotated, current);
            assertThat(got).isEqualTo(expected);
            assertThat(log.mark().end()).isEqualTo(current.length);
            // the rotated history is as private as the log (what users typed)
            assertThat(io.jvirt.files.FileModes.modeOf(file.resolveSibling(file.getFileName() + ".1"))).isEqualTo(0600);
        }
    }

    @Test
    void aReadSpanningOneRotationContinuesInTheRotatedFile() throws IOException {
        Path file = dir.resolve("console.log");
        try (AppendWriter qemu = new AppendWriter(file)) {
            ConsoleLog log = ConsoleLog.open(file, () -> CAP);
            log.received(qemu.write(50_000).length);
            ConsoleLog.Mark mark = log.mark();
            try (ConsoleLog.Reader r = log.read(mark, 10_000)) {
                byte[] buf = new byte[16_000];
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                int n = r.read(buf);
                got.write(buf, 0, n);
                log.received(qemu.write(20_000).length); // now over the cap
                log.rotate();
                qemu.write(5_000);
                for (; (n = r.read(buf)) >= 0; ) {
                    got.write(buf, 0, n);
                }
                assertThat(got.toByteArray()).isEqualTo(Arrays.copyOfRange(qemu.all.toByteArray(), 10_000, 50_000));
            }
        }
    }

    @Test
    void twoRotationsDuringOneReadAreReportedNotMixedUp() throws IOException {
        Path file = dir.resolve("console.log");
        try (AppendWriter qemu = new AppendWriter(file)) {
            ConsoleLog log = ConsoleLog.open(file, () -> CAP);
            log.received(qemu.write(30_000).length);
            try (ConsoleLog.Reader r = log.read(log.mark(), 0)) {
                byte[] buf = new byte[10_000];
                assertThat(r.read(buf)).isEqualTo(10_000);
                for (int i = 0; i < 2; i++) {
                    log.received(qemu.write(CAP).length);
                    log.rotate();
                }
                int n = r.read(buf);
                assertThat(new String(buf, 0, n, StandardCharsets.UTF_8))
                        .contains("[jvirt: 20000 bytes of console history rotated away while being read]");
                assertThat(r.read(buf)).isEqualTo(-1);
            }
        }
    }

    @Test
    void aLogThatGrewWhileNoDaemonWatchedKeepsItsLastCapBytes() throws IOException {
        Path file = dir.resolve("console.log");
        byte[] big;
        try (AppendWriter qemu = new AppendWriter(file)) {
            qemu.write(5 * CAP);
            big = qemu.all.toByteArray();
        }
        ConsoleLog log = ConsoleLog.open(file, () -> CAP);
        assertThat(log.overCap()).isTrue();
        log.rotate();
        assertThat(Files.size(file)).isZero();
        assertThat(Files.readAllBytes(dir.resolve("console.log.1")))
                .isEqualTo(Arrays.copyOfRange(big, big.length - CAP, big.length));
        assertThat(log.mark().end()).isZero();
    }

    /** What a migration carries: the history's tail, what came since, and the destination's append of both. */
    @Test
    void tailSinceAndAppendedHistoryForAMigration() throws IOException {
        Path file = dir.resolve("console.log");
        Files.createFile(file);
        ConsoleLog log = ConsoleLog.open(file, () -> CAP);
        try (AppendWriter qemu = new AppendWriter(file)) {
            byte[] first = qemu.write(1000);
            ConsoleLog.Tail tail = log.tail(300);
            assertThat(tail.bytes()).isEqualTo(Arrays.copyOfRange(first, 700, 1000));
            assertThat(tail.skipped()).isEqualTo(700);
            assertThat(tail.upTo()).isEqualTo(new ConsoleLog.Mark(0, 1000));
            byte[] more = qemu.write(500); // the daemon has not counted it yet: the file is what counts
            ConsoleLog.Tail since = log.since(tail.upTo(), 4096);
            assertThat(since.bytes()).isEqualTo(more);
            assertThat(since.skipped()).isZero();
            ConsoleLog.Tail bounded = log.since(tail.upTo(), 100);
            assertThat(bounded.bytes()).isEqualTo(Arrays.copyOfRange(more, 400, 500));
            assertThat(bounded.skipped()).isEqualTo(400);
            log.received(1500);
            log.rotate();
            ConsoleLog.Tail afterRotation = log.since(tail.upTo(), 100);
            assertThat(afterRotation.skipped()).as("a rotation in between: unknown").isEqualTo(-1);
            byte[] fresh = qemu.write(10); // the file holds only these: the tail reaches into console.log.1
            byte[] all = qemu.all.toByteArray();
            assertThat(log.tail(200).bytes()).isEqualTo(Arrays.copyOfRange(all, all.length - 200, all.length));
            assertThat(log.tail(5).bytes()).isEqualTo(Arrays.copyOfRange(fresh, 5, 10));
        }
        // the destination: history appended before the guest prints, then the guest's own output after it
        Path there = dir.resolve("there.log");
        Files.createFile(there);
        ConsoleLog dest = ConsoleLog.open(there, () -> CAP);
        try (AppendWriter qemu = new AppendWriter(there)) {
            assertThat(dest.appendHistory("history\r\n".getBytes(StandardCharsets.UTF_8))).isFalse();
            byte[] own = qemu.write(20);
            dest.received(own.length);
            assertThat(Files.readString(there)).isEqualTo("history\r\n" + new String(own, StandardCharsets.UTF_8));
            assertThat(dest.mark().end()).isEqualTo(9 + 20);
            assertThat(dest.appendHistory(new byte[CAP])).as("history counts toward the cap").isTrue();
        }
    }

    @Test
    void tailAndOffsetRangesAreClampedToTheLog() throws IOException {
        Path file = dir.resolve("console.log");
        Files.writeString(file, "0123456789");
        ConsoleLog log = ConsoleLog.open(file, () -> CAP);
        assertThat(readAll(log, new ConsoleLog.Mark(0, 10), 7)).isEqualTo("789");
        assertThat(readAll(log, new ConsoleLog.Mark(0, 5), 2)).isEqualTo("234");
        assertThat(readAll(log, new ConsoleLog.Mark(0, 10), 50)).isEmpty();
    }

    @Test
    void aTailLongerThanTheFileSinceTheRotationReachesIntoTheRotatedCopy() throws IOException {
        Path file = dir.resolve("console.log");
        Files.createFile(file);
        ConsoleLog log = ConsoleLog.open(file, () -> CAP);
        try (AppendWriter qemu = new AppendWriter(file)) {
            int n = (int) CAP + 100;
            qemu.write(n);
            assertThat(log.received(n)).isTrue();
            log.rotate();
            qemu.write(10); // just after the rotation: the file holds only these
            log.received(10);
            byte[] all = qemu.all.toByteArray();
            String expected = new String(Arrays.copyOfRange(all, all.length - 500, all.length), StandardCharsets.UTF_8);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ConsoleLog.Reader r = log.read(log.mark(), 0, 490)) {
                byte[] buf = new byte[64];
                for (int k; (k = r.read(buf)) >= 0; ) {
                    out.write(buf, 0, k);
                }
            }
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expected);
            // an offset read (before = 0) stays within the current file
            assertThat(readAll(log, log.mark(), 0)).hasSize(10);
        }
    }

    private static String readAll(ConsoleLog log, ConsoleLog.Mark mark, long start) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ConsoleLog.Reader r = log.read(mark, start)) {
            byte[] buf = new byte[3];
            for (int n; (n = r.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
