package io.jvirt.api;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The client limits of the API, in one place: set from the daemon's flags at start, changeable at run time (every
 * field is read on each use, so a change applies to the next connection or request; nothing in flight is cut).
 *
 * <ul>
 *   <li>{@code max-connections}: open connections on the API listeners together; one more is answered 503 on its
 *       first request and closed.</li>
 *   <li>{@code max-streams}: open event streams ({@code GET /v1/events}) and console follows together.</li>
 *   <li>{@code max-waits}: requests that block for an outcome ({@code ?wait=true}, {@code /operations/{id}/wait},
 *       {@code ?queue=S}).</li>
 *   <li>{@code header-timeout}: how long a connection may take to deliver a request's headers, counted from its
 *       opening or from the end of its previous response (slow-header clients, idle keep-alive connections).</li>
 * </ul>
 */
public final class ClientLimits {
    public static final int DEFAULT_MAX_CONNECTIONS = 2048;
    public static final int DEFAULT_MAX_STREAMS = 1024;
    public static final int DEFAULT_MAX_WAITS = 512;
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);

    private volatile int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private volatile int maxStreams = DEFAULT_MAX_STREAMS;
    private volatile int maxWaits = DEFAULT_MAX_WAITS;
    private volatile Duration headerTimeout = DEFAULT_HEADER_TIMEOUT;

    public int maxConnections() {
        return maxConnections;
    }

    public int maxStreams() {
        return maxStreams;
    }

    public int maxWaits() {
        return maxWaits;
    }

    public Duration headerTimeout() {
        return headerTimeout;
    }

    public ClientLimits setMaxConnections(int n) {
        this.maxConnections = positive("max-connections", n);
        return this;
    }

    public ClientLimits setMaxStreams(int n) {
        this.maxStreams = positive("max-streams", n);
        return this;
    }

    public ClientLimits setMaxWaits(int n) {
        this.maxWaits = positive("max-waits", n);
        return this;
    }

    public ClientLimits setHeaderTimeout(Duration d) {
        if (d == null || d.isNegative() || d.isZero() || d.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("header-timeout must be between 1 ms and 1 h, got " + d);
        }
        this.headerTimeout = d;
        return this;
    }

    /** The limits as the API shows them (names as in errors and flags). */
    public Map<String, Object> view() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("max-connections", maxConnections);
        m.put("max-streams", maxStreams);
        m.put("max-waits", maxWaits);
        m.put("header-timeout-ms", headerTimeout.toMillis());
        return m;
    }

    private static int positive(String name, int n) {
        if (n < 1 || n > 1_000_000) {
            throw new IllegalArgumentException(name + " must be between 1 and 1000000, got " + n);
        }
        return n;
    }
}
