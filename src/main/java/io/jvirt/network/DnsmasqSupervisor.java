package io.jvirt.network;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches each network's dnsmasq and reports its death, once per process, to whoever restarts it. A dnsmasq this
 * daemon started is its child: its exit arrives from the JDK's process reaper (waitpid). One a previous daemon
 * started is watched through {@link ProcessHandle#onExit()} (the JDK sees a non-child leave /proc). A network
 * that is being stopped is forgotten first, so its dnsmasq's exit is not taken for a crash.
 */
final class DnsmasqSupervisor {
    private static final Logger log = LoggerFactory.getLogger(DnsmasqSupervisor.class);
    static final int MAX_RESTARTS = 5;
    static final Duration RESTART_WINDOW = Duration.ofMinutes(1);

    private final Map<String, Long> watched = new ConcurrentHashMap<>();
    private final Map<String, Deque<Instant>> restarts = new ConcurrentHashMap<>();
    private final BiConsumer<String, Long> onDeath;

    DnsmasqSupervisor(BiConsumer<String, Long> onDeath) {
        this.onDeath = onDeath;
    }

    void watchChild(String network, Process p) {
        watch(network, p.pid(), p.onExit().thenApply(x -> null));
    }

    void watchAdopted(String network, long pid) {
        ProcessHandle.of(pid).ifPresentOrElse(h -> watch(network, pid, h.onExit().thenApply(x -> null)),
                () -> watch(network, pid, CompletableFuture.completedFuture(null)));
    }

    private void watch(String network, long pid, CompletableFuture<Object> exit) {
        watched.put(network, pid);
        exit.thenRun(() -> {
            if (watched.remove(network, pid)) {
                log.warn("network {}: dnsmasq {} exited", network, pid);
                Thread.ofVirtual().name("dnsmasq-restart-" + network).start(() -> onDeath.accept(network, pid));
            }
        });
    }

    void forget(String network) {
        watched.remove(network);
    }

    /** True if another restart is allowed now (at most {@link #MAX_RESTARTS} within {@link #RESTART_WINDOW}). */
    boolean mayRestart(String network) {
        Deque<Instant> times = restarts.computeIfAbsent(network, n -> new ArrayDeque<>());
        synchronized (times) {
            Instant now = Instant.now();
            while (!times.isEmpty() && times.peekFirst().isBefore(now.minus(RESTART_WINDOW))) {
                times.removeFirst();
            }
            if (times.size() >= MAX_RESTARTS) {
                return false;
            }
            times.addLast(now);
            return true;
        }
    }
}
