package io.jvirt.qemu;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Input typed into a console, written to QEMU by one writer thread per console.
 *
 * <p>A guest that does not read its serial port (paused, or just busy) stops QEMU from reading the socket, and a
 * blocking write then waits for as long as the guest does. So callers never write themselves: they hand their bytes
 * to the writer through a small bounded queue and wait at most their timeout for the writer to have sent them. On
 * timeout the caller gets a clear error saying how much the guest took; what the writer has not started yet is
 * withdrawn (the piece being written when the time ran out still goes once the guest reads again). No lock is held
 * across the socket write, and the writer is a virtual thread blocked in plain NIO, which parks instead of holding
 * a carrier thread.
 */
final class ConsoleInput {
    private static final Logger log = LoggerFactory.getLogger(ConsoleInput.class);
    private static final int PIECE = 4096;
    private static final Pending CLOSE = new Pending(new byte[0]);

    private final SocketChannel channel;
    private final String vm;
    private final ArrayBlockingQueue<Pending> queue = new ArrayBlockingQueue<>(4);
    private volatile boolean closed;

    private static final class Pending {
        final byte[] data;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        volatile boolean withdrawn;
        volatile int written;

        Pending(byte[] data) {
            this.data = data;
        }
    }

    ConsoleInput(SocketChannel channel, String vm) {
        this.channel = channel;
        this.vm = vm;
        Thread.ofVirtual().name("console-input-" + vm).start(this::writeLoop);
    }

    /** Sends {@code data} to the guest, or fails with {@code timeout} when it is not taken within {@code timeout}. */
    void write(byte[] data, Duration timeout) {
        if (closed) {
            throw gone();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Pending p = new Pending(data);
        try {
            if (!queue.offer(p, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw notTaken(p, data.length, timeout, "earlier input is still waiting for the guest");
            }
            if (closed) {
                p.withdrawn = true;
                throw gone();
            }
            p.done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            p.withdrawn = true;
            throw notTaken(p, data.length, timeout, "the guest is not reading its serial port (is it paused?)");
        } catch (ExecutionException e) {
            throw gone();
        } catch (InterruptedException e) {
            p.withdrawn = true;
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted while typing into the console of " + vm);
        }
    }

    void close() {
        closed = true;
        if (!queue.offer(CLOSE)) {
            // full: the writer is inside a write, which fails as the channel closes, and then drains the queue
            log.debug("console input queue of {} full at close", vm);
        }
    }

    private void writeLoop() {
        Pending p = null;
        try {
            while (true) {
                p = queue.take();
                if (p == CLOSE) {
                    break;
                }
                if (p.withdrawn) {
                    continue;
                }
                ByteBuffer buf = ByteBuffer.wrap(p.data);
                while (buf.hasRemaining() && !p.withdrawn) {
                    ByteBuffer piece = buf.slice(buf.position(), Math.min(PIECE, buf.remaining()));
                    while (piece.hasRemaining()) {
                        channel.write(piece);
                    }
                    buf.position(buf.position() + piece.limit());
                    p.written = buf.position();
                }
                p.done.complete(null);
            }
        } catch (IOException e) {
            log.debug("console input of {} ended: {}", vm, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closed = true;
            if (p != null) {
                p.done.completeExceptionally(new IOException("console closed"));
            }
            for (Pending left; (left = queue.poll()) != null; ) {
                left.done.completeExceptionally(new IOException("console closed"));
            }
        }
    }

    private JvirtException notTaken(Pending p, int length, Duration timeout, String why) {
        int taken = p.written;
        return new JvirtException(ErrorCode.TIMEOUT, "console input to VM '" + vm + "' not taken within "
                + timeout.toMillis() + " ms: " + why + "; " + taken + " of " + length + " bytes were sent",
                Map.of("vm", vm, "bytes", length, "sent", taken, "timeoutMs", timeout.toMillis()));
    }

    private JvirtException gone() {
        return new JvirtException(ErrorCode.INVALID_STATE, "the console of VM '" + vm + "' is closed (the VM stopped)",
                Map.of("vm", vm, "state", "stopped"));
    }
}
