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
 *   <li>{@code max-clients-per-identity}: open connections of one Unix user (uid) or one TLS certificate.</li>
 *   <li>{@code max-queued-jobs}: requests waiting with {@code ?queue=S} for a busy VM's job slot (within
 *       {@code max-waits}).</li>
 *   <li>{@code header-timeout}: how long a connection may take to deliver a request's headers, counted from its
 *       opening or from the end of its previous response (slow-header clients, idle keep-alive connections).</li>
 * </ul>
 */
public final class ClientLimits {
    public static final int DEFAULT_MAX_CONNECTIONS = 2048;
    public static final int DEFAULT_MAX_STREAMS = 1024;
    public static final int DEFAULT_MAX_WAITS = 512;
    public static final int DEFAULT_MAX_QUEUED_JOBS = 256;
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** The names {@link #set} and {@link #view} use (and the admin API shows). */
    public static final java.util.List<String> NAMES = java.util.List.of("max-connections", "max-clients-per-identity",
            "max-streams", "max-waits", "max-queued-jobs", "header-timeout-ms");

    private volatile int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private volatile int maxStreams = DEFAULT_MAX_STREAMS;
    private volatile int maxWaits = DEFAULT_MAX_WAITS;
    private volatile Duration headerTimeout = DEFAULT_HEADER_TIMEOUT;
    private volatile int maxPerIdentity = DEFAULT_MAX_CONNECTIONS;
    private volatile int maxQueuedJobs = DEFAULT_MAX_QUEUED_JOBS;

    public int maxClientsPerIdentity() {
        return maxPerIdentity;
    }

    public int maxQueuedJobs() {
        return maxQueuedJobs;
    }

    public ClientLimits setMaxClientsPerIdentity(int n) {
        this.maxPerIdentity = positive("max-clients-per-identity", n);
        return this;
    }

    public ClientLimits setMaxQueuedJobs(int n) {
        this.maxQueuedJobs = positive("max-queued-jobs", n);
        return this;
    }

    /**
     * Sets one limit by its name ({@code max-clients} is {@code max-connections}); an unknown name or a value out
     * of range is refused with nothing changed. Returns the canonical name.
     */
    public String set(String name, long value) {
        String n = "max-clients".equals(name) ? "max-connections" : name;
        int v = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, value));
        switch (n) {
            case "max-connections" -> setMaxConnections(v);
            case "max-clients-per-identity" -> setMaxClientsPerIdentity(v);
            case "max-streams" -> setMaxStreams(v);
            case "max-waits" -> setMaxWaits(v);
            case "max-queued-jobs" -> setMaxQueuedJobs(v);
            case "header-timeout-ms" -> setHeaderTimeout(Duration.ofMillis(value));
            default -> throw new IllegalArgumentException("no limit named '" + name + "'; limits: " + NAMES);
        }
        return n;
    }

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
        m.put("max-clients-per-identity", maxPerIdentity);
        m.put("max-streams", maxStreams);
        m.put("max-waits", maxWaits);
        m.put("max-queued-jobs", maxQueuedJobs);
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
