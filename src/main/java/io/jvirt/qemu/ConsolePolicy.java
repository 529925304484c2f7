package io.jvirt.qemu;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The bounds of every VM's serial console: the size at which {@code console.log} is rotated, the live buffer shared
 * by a console's followers, and how long console input may wait for the guest. The daemon sets {@link #global()}
 * from its flags; values are read on each use, so a change applies to the next rotation check, the next first
 * follower and the next input.
 */
public final class ConsolePolicy {
    public static final long DEFAULT_LOG_BYTES = 2L << 20;
    public static final int DEFAULT_FOLLOW_BUFFER = 256 << 10;
    public static final Duration DEFAULT_INPUT_TIMEOUT = Duration.ofSeconds(5);
    private static final ConsolePolicy GLOBAL = new ConsolePolicy();

    private volatile long logBytes = DEFAULT_LOG_BYTES;
    private volatile int followBuffer = DEFAULT_FOLLOW_BUFFER;
    private volatile Duration inputTimeout = DEFAULT_INPUT_TIMEOUT;

    /** The policy every console of this daemon uses. */
    public static ConsolePolicy global() {
        return GLOBAL;
    }

    /** {@code console.log} is rotated to {@code console.log.1} once it holds this many bytes. */
    public long logBytes() {
        return logBytes;
    }

    /** Live output kept for a console's followers; one that falls further behind loses output (and is told). */
    public int followBuffer() {
        return followBuffer;
    }

    /** How long typed input may wait for the guest to take it before the call fails. */
    public Duration inputTimeout() {
        return inputTimeout;
    }

    public ConsolePolicy setLogBytes(long bytes) {
        if (bytes < 4096 || bytes > (1L << 40)) {
            throw new IllegalArgumentException("console log size must be between 4 KiB and 1 TiB, got " + bytes);
        }
        this.logBytes = bytes;
        return this;
    }

    public ConsolePolicy setFollowBuffer(long bytes) {
        if (bytes < 4096 || bytes > (256L << 20)) {
            throw new IllegalArgumentException("console follow buffer must be between 4 KiB and 256 MiB, got " + bytes);
        }
        this.followBuffer = (int) bytes;
        return this;
    }

    public ConsolePolicy setInputTimeout(Duration d) {
        if (d == null || d.isNegative() || d.isZero() || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException("console input timeout must be between 1 ms and 10 min, got " + d);
        }
        this.inputTimeout = d;
        return this;
    }

    public Map<String, Object> view() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("console-log-size", logBytes);
        m.put("console-follow-buffer", followBuffer);
        m.put("console-input-timeout-ms", inputTimeout.toMillis());
        return m;
    }
}
