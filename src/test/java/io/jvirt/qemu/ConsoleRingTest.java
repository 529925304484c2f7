package io.jvirt.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The followers' shared buffer: in-order delivery, a slow follower skips ahead with a marker, the end. */
class ConsoleRingTest {
    static final int SIZE = 4096;

    @Test
    void aFollowerGetsEveryByteAppendedAfterItStartedInOrder() throws Exception {
        ConsoleRing ring = new ConsoleRing(() -> SIZE);
        ring.append("before".getBytes(), 0, 6);
        try (ConsoleRing.Follower f = ring.follow()) {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[1000];
            for (int i = 0; i < 50; i++) {
                byte[] chunk = ("line " + i + "\n").getBytes();
                ring.append(chunk, 0, chunk.length);
                for (int n; (n = f.next(buf, 0, TimeUnit.MILLISECONDS)) > 0; ) {
                    got.write(buf, 0, n);
                }
            }
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < 50; i++) {
                expected.append("line ").append(i).append('\n');
            }
            assertThat(got.toString()).isEqualTo(expected.toString());
            assertThat(f.next(buf, 10, TimeUnit.MILLISECONDS)).as("nothing new: timeout").isZero();
            ring.close();
            assertThat(f.next(buf, 1, TimeUnit.SECONDS)).isEqualTo(-1);
        }
    }

    @Test
    void aSlowFollowerSkipsToTheOldestHeldByteAndIsToldHowMuchItMissed() throws Exception {
        ConsoleRing ring = new ConsoleRing(() -> SIZE);
        try (ConsoleRing.Follower slow = ring.follow(); ConsoleRing.Follower fast = ring.follow()) {
            byte[] all = new byte[3 * SIZE + 100];
            for (int i = 0; i < all.length; i++) {
                all[i] = (byte) ('A' + i % 26);
            }
            byte[] buf = new byte[SIZE];
            ByteArrayOutputStream fastGot = new ByteArrayOutputStream();
            for (int at = 0; at < all.length; at += 700) {
                int n = Math.min(700, all.length - at);
                ring.append(all, at, n);
                for (int k; (k = fast.next(buf, 0, TimeUnit.MILLISECONDS)) > 0; ) {
                    fastGot.write(buf, 0, k);
                }
            }
            assertThat(fastGot.toByteArray()).isEqualTo(all);
            assertThat(fast.dropped()).isZero();

            int n = slow.next(buf, 0, TimeUnit.MILLISECONDS);
            long missed = all.length - SIZE;
            assertThat(new String(buf, 0, n, StandardCharsets.UTF_8))
                    .isEqualTo("\r\n[jvirt: " + missed + " bytes dropped: viewer too slow]\r\n");
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            for (int k; (k = slow.next(buf, 0, TimeUnit.MILLISECONDS)) > 0; ) {
                rest.write(buf, 0, k);
            }
            assertThat(rest.toByteArray()).isEqualTo(Arrays.copyOfRange(all, all.length - SIZE, all.length));
            assertThat(slow.dropped()).isEqualTo(missed);
        }
    }

    @Test
    void aChunkLargerThanTheBufferKeepsItsEnd() throws Exception {
        ConsoleRing ring = new ConsoleRing(() -> SIZE);
        try (ConsoleRing.Follower f = ring.follow()) {
            byte[] big = new byte[SIZE * 2 + 5];
            for (int i = 0; i < big.length; i++) {
                big[i] = (byte) i;
            }
            ring.append(big, 0, big.length);
            byte[] buf = new byte[SIZE * 4];
            int n = f.next(buf, 0, TimeUnit.MILLISECONDS);
            assertThat(new String(buf, 0, n, StandardCharsets.UTF_8)).contains((SIZE + 5) + " bytes dropped");
            n = f.next(buf, 0, TimeUnit.MILLISECONDS);
            assertThat(Arrays.copyOf(buf, n)).isEqualTo(Arrays.copyOfRange(big, SIZE + 5, big.length));
        }
    }

    @Test
    void aWaitingFollowerWakesOnOutput() throws Exception {
        ConsoleRing ring = new ConsoleRing(() -> SIZE);
        try (ConsoleRing.Follower f = ring.follow()) {
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                ring.append("hi".getBytes(), 0, 2);
            });
            byte[] buf = new byte[10];
            long t = System.nanoTime();
            assertThat(f.next(buf, 5, TimeUnit.SECONDS)).isEqualTo(2);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t)).isLessThan(2000);
        }
    }
}
