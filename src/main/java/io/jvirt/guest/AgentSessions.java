package io.jvirt.guest;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuInstance;
import io.jvirt.qemu.monitor.GuestAgent;
import io.jvirt.qemu.monitor.GuestAgentException;
import io.jvirt.vm.LiveVm;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmState;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent slot and connection of each VM: libvirt's rule that "an unresponsive or malicious agent cannot block
 * the normal API". An agent call takes its VM's <em>agent</em> slot, never the VM's job slot, so a hung agent
 * delays only other agent calls of that VM, and those by no more than their own timeout. A call's timeout covers
 * everything it waits for: the slot, connecting and syncing, and the reply.
 *
 * <p>The connection is kept between calls (one round trip per call) and synced whenever it may be out of step
 * ({@code GuestAgent}); it is dropped when it fails and when the VM's QEMU ends, and made again by the next call.
 */
final class AgentSessions {
    private static final Logger log = LoggerFactory.getLogger(AgentSessions.class);
    private final VmManager vms;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();

    /** One VM's slot, and its connection (guarded by the slot). */
    private static final class Session {
        final Semaphore slot = new Semaphore(1, true);
        volatile String busyWith;
        volatile Instant busySince;
        volatile String version;
        volatile Instant lastAnswer;
        GuestAgent agent;
        QemuInstance owner;
    }

    /** What one call does with the connected agent, given the time left for it. */
    @FunctionalInterface
    interface AgentCall<T> {
        T apply(GuestAgent agent, Duration left);
    }

    AgentSessions(VmManager vms) {
        this.vms = vms;
        vms.addListener(e -> {
            if ("undefined".equals(e.state())) {
                sessions.remove(e.vm()); // its QEMU is gone already, and with it the connection
            }
        });
    }

    /**
     * Runs {@code call} on {@code vm}'s agent within {@code timeout}. {@code what} names the call in messages, as
     * {@code jvirt guest} names it (the agent's own command names stay in {@code qemu.monitor.GuestAgent}). The VM
     * must be running (a paused guest cannot answer: libvirt refuses too).
     */
    <T> T call(String vm, String what, Duration timeout, AgentCall<T> call) {
        LiveVm live = vms.live(vm);
        if (live.state() != VmState.RUNNING || !live.hasQemu()) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "VM '" + vm + "' is " + live.state().wire()
                    + ": its guest agent can only answer while it runs", Map.of("vm", vm, "state", live.state().wire()));
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Session s = sessions.computeIfAbsent(vm, k -> new Session());
        acquire(vm, what, timeout, s);
        try {
            s.busyWith = what;
            s.busySince = Instant.now();
            GuestAgent agent = connected(vm, s, live.qemu(), left(deadline));
            T result = call.apply(agent, left(deadline));
            s.lastAnswer = Instant.now();
            return result;
        } catch (GuestAgentException e) {
            if (!e.kind().equals(GuestAgentException.Kind.ERROR)) {
                drop(s); // out of step or gone: the next call connects and syncs again
            }
            throw translate(vm, what, timeout, e);
        } finally {
            s.busyWith = null;
            s.slot.release();
        }
    }

    /** The agent version of the last successful guest-info, if any. */
    String knownVersion(String vm) {
        Session s = sessions.get(vm);
        return s == null ? null : s.version;
    }

    void rememberVersion(String vm, String version) {
        Session s = sessions.get(vm);
        if (s != null) {
            s.version = version;
        }
    }

    /** What the VM's agent slot is doing, for {@code info}. */
    Map<String, Object> slotView(String vm) {
        Session s = sessions.get(vm);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("connected", s != null && s.owner != null);
        m.put("lastAnswer", s == null ? null : s.lastAnswer);
        String busy = s == null ? null : s.busyWith;
        if (busy != null) {
            m.put("busyWith", busy);
            m.put("busySince", s.busySince);
        }
        return m;
    }

    private static void acquire(String vm, String what, Duration timeout, Session s) {
        boolean got;
        try {
            got = s.slot.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            got = false;
        }
        if (!got) {
            String busy = s.busyWith;
            throw new JvirtException(ErrorCode.TIMEOUT, "the guest agent of VM '" + vm + "' is busy"
                    + (busy == null ? "" : " with " + busy + " since " + s.busySince) + "; " + what + " gave up after "
                    + seconds(timeout), Map.of("vm", vm, "agentCall", String.valueOf(busy)));
        }
    }

    private GuestAgent connected(String vm, Session s, QemuInstance q, Duration left) {
        if (s.agent != null && s.agent.isOpen() && s.owner == q) {
            return s.agent;
        }
        drop(s);
        GuestAgent agent = GuestAgent.connect(q.paths().agentSocket(), left);
        s.agent = agent;
        s.owner = q;
        // a QEMU that ends takes its channel along: drop the connection then, not at the next call
        q.exited().thenRun(() -> sessions.computeIfPresent(vm, (k, sess) -> {
            if (sess.owner == q && sess.slot.tryAcquire()) {
                try {
                    drop(sess);
                } finally {
                    sess.slot.release();
                }
            }
            return sess;
        }));
        log.debug("VM {}: guest agent connected and synced", vm);
        return agent;
    }

    private static void drop(Session s) {
        if (s.agent != null) {
            s.agent.close();
        }
        s.agent = null;
        s.owner = null;
    }

    private static Duration left(long deadline) {
        return Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
    }

    /** The agent's failure in the API's terms; a timeout is said with the call's own timeout. */
    static JvirtException translate(String vm, String what, Duration timeout, GuestAgentException e) {
        Map<String, Object> details = Map.of("vm", vm, "agentCall", what);
        return switch (e.kind()) {
            case TIMEOUT -> new JvirtException(ErrorCode.TIMEOUT, "the guest agent of VM '" + vm + "' did not answer "
                    + what + " within " + seconds(timeout) + " (is qemu-ga running in the guest?)", details);
            case ERROR -> new JvirtException(ErrorCode.AGENT_ERROR, e.getMessage() + " (VM '" + vm + "')", details);
            case PROTOCOL -> new JvirtException(ErrorCode.AGENT_ERROR, "VM '" + vm + "': " + e.getMessage(), details);
            case UNAVAILABLE -> new JvirtException(ErrorCode.AGENT_ERROR, "VM '" + vm + "': " + e.getMessage(), details);
        };
    }

    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

}
