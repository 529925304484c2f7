package io.jvirt.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A console against a stand-in for QEMU's socket chardev (socket write first, then the O_APPEND log, as QEMU does):
 * a follower sees history then live output with neither gap nor overlap across rotations, and input to a peer that
 * never reads fails within its timeout instead of blocking.
 */
class SerialConsoleTest {
    @TempDir
    Path dir;

    @Test
    void historyThenLiveOutputAcrossRotationsHasNoGapNorOverlap() throws Exception {
        Path sock = dir.resolve("vm1").resolve("console.sock");
        Files.createDirectories(sock.getParent());
        Path logFile = dir.resolve("console.log");
        ConsolePolicy policy = new ConsolePolicy().setLogBytes(16 << 10).setFollowBuffer(1 << 20);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             FileOutputStream qemuLog = new FileOutputStream(logFile.toFile(), true)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            qemuLog.write("boot\n".getBytes());
            SerialConsole console = SerialConsole.connect(sock, logFile, policy);
            try (SocketChannel qemu = server.accept()) {
                ByteArrayOutputStream sent = new ByteArrayOutputStream();
                sent.write("boot\n".getBytes());
                SerialConsole.Follow follow = null;
                long historyStart = 0;
                for (int i = 0; i < 3000; i++) {
                    byte[] line = ("line " + i + "\n").getBytes();
                    qemu.write(ByteBuffer.wrap(line));
                    qemuLog.write(line);
                    sent.write(line);
                    if (i == 1500) {
                        Thread.sleep(50); // let the daemon side catch up, then start following mid-stream
                        follow = console.follow();
                        historyStart = sent.size() - follow.historyEnd().end();
                    }
                }
                assertThat(follow).isNotNull();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                try (ConsoleLog.Reader r = console.history(follow.historyEnd(), 0)) {
                    byte[] buf = new byte[4096];
                    for (int n; (n = r.read(buf)) >= 0; ) {
                        got.write(buf, 0, n);
                    }
                }
                byte[] buf = new byte[4096];
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (got.size() < sent.size() - historyStart && System.nanoTime() < deadline) {
                    int n = follow.next(buf, 100, TimeUnit.MILLISECONDS);
                    if (n > 0) {
                        got.write(buf, 0, n);
                    }
                }
                String expected = sent.toString().substring((int) historyStart);
                assertThat(got.toString()).isEqualTo(expected);
                assertThat(Files.size(logFile)).isLessThan((16 << 10) + 8192);
                assertThat(Files.exists(dir.resolve("console.log.1"))).isTrue();
                follow.close();
            } finally {
                console.close();
            }
        }
    }

    @Test
    void inputToAPeerThatNeverReadsFailsWithinItsTimeout() throws Exception {
        Path sock = dir.resolve("vm2").resolve("console.sock");
        Files.createDirectories(sock.getParent());
        ConsolePolicy policy = new ConsolePolicy().setInputTimeout(Duration.ofMillis(300));
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            SerialConsole console = SerialConsole.connect(sock, dir.resolve("console2.log"), policy);
            try (SocketChannel paused = server.accept()) {
                byte[] chunk = new byte[256 << 10];
                JvirtException failure = null;
                for (int i = 0; i < 40 && failure == null; i++) {
                    long t = System.nanoTime();
                    try {
                        console.write(chunk);
                    } catch (JvirtException e) {
                        failure = e;
                    }
                    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t)).isLessThan(2000);
                }
                assertThat(failure).as("the socket buffers filled and a write timed out").isNotNull();
                assertThat(failure.code()).isEqualTo(ErrorCode.TIMEOUT);
                assertThat(failure.getMessage()).contains("not taken within 300 ms");
                // the next one fails in time as well: the writer is still stuck, callers are not
                long t = System.nanoTime();
                assertThatThrownBy(() -> console.write("x".getBytes()))
                        .isInstanceOf(JvirtException.class).hasMessageContaining("not taken");
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t)).isLessThan(2000);

                // the guest reads again: input flows again
                Thread drain = Thread.ofVirtual().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(1 << 16);
                    try {
                        while (paused.read(b) >= 0) {
                            b.clear();
                        }
                    } catch (java.io.IOException e) {
                        // closed
                    }
                });
                console.write("hello".getBytes(), Duration.ofSeconds(10));
                console.close();
                assertThatThrownBy(() -> console.write("x".getBytes())).isInstanceOf(JvirtException.class)
                        .extracting(e -> ((JvirtException) e).code()).isEqualTo(ErrorCode.INVALID_STATE);
                paused.close();
                drain.join(5000);
            }
        }
    }
}
