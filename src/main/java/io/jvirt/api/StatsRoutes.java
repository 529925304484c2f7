package io.jvirt.api;

import io.jvirt.stats.StatsGroup;
import io.jvirt.stats.StatsService;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Statistics: {@code GET /v1/vms/{name}/stats}, {@code GET /v1/stats} (all VMs, or {@code ?vm=a,b}), with
 * {@code ?groups=cpu,block} and {@code ?maxAge=S} (default 1 s: a sample that young is served from the cache),
 * and {@code GET /metrics} in the Prometheus text format (samples up to 2 s old; {@code ?maxAge=0} for fresh ones,
 * as the benchmark asks). Plain routes of the router, so every listener the
 * daemon has (the Unix socket, TCP, and issue 12's read-only socket and TLS listener) serves them; all are reads.
 */
record StatsRoutes(StatsService stats) {
    private static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);

    void register(Router r) {
        r.add("GET", "/v1/vms/{name}/stats", ex -> ex.json(200, stats.vm(ex.param("name"), groups(ex), maxAge(ex))));
        r.add("GET", "/v1/stats", ex -> {
            List<String> names = ex.query("vm").map(v -> Arrays.stream(v.split(",")).map(String::strip)
                    .filter(s -> !s.isEmpty()).toList()).orElse(List.of());
            ex.json(200, stats.all(names, groups(ex), maxAge(ex)));
        });
        r.add("GET", "/metrics", ex -> ex.raw(200, StatsService.METRICS_CONTENT_TYPE,
                stats.scrape(ex.querySeconds("maxAge", StatsService.SCRAPE_MAX_AGE))));
    }

    private static java.util.Set<StatsGroup> groups(Exchange ex) {
        return StatsGroup.parse(ex.query("groups").orElse(null));
    }

    private static Duration maxAge(Exchange ex) {
        return ex.querySeconds("maxAge", DEFAULT_MAX_AGE);
    }
}
