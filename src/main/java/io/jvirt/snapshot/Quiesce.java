package io.jvirt.snapshot;

import io.jvirt.qemu.monitor.GuestAgent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guest filesystem freeze around a snapshot, through the guest agent. Thaw is idempotent and the service calls it
 * on every path out of a snapshot, failed or not; a guest left frozen would hang its writers.
 */
final class Quiesce {
    private static final Logger log = LoggerFactory.getLogger(Quiesce.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private final Path socket;
    private final boolean requested;
    private int frozen = -1;
    private int thawed = -1;
    private String error;

    private Quiesce(Path socket, boolean requested) {
        this.socket = socket;
        this.requested = requested;
    }

    static Quiesce none(boolean requested) {
        Quiesce q = new Quiesce(null, requested);
        if (requested) {
            q.error = "the VM is not running; nothing to freeze";
        }
        return q;
    }

    /** Freezes the guest's filesystems; a failure to freeze fails the snapshot before anything is changed. */
    static Quiesce freeze(Path agentSocket) {
        Quiesce q = new Quiesce(agentSocket, true);
        try (GuestAgent agent = GuestAgent.connect(agentSocket, TIMEOUT)) {
            q.frozen = agent.fsfreezeFreeze();
        } catch (Exception e) {
            q.thaw(); // a freeze that timed out may still have happened in the guest
            throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.QEMU_FAILED,
                    "cannot quiesce the guest (is the guest agent running?): " + e.getMessage(),
                    Map.of("quiesce", q.report()));
        }
        log.info("guest filesystems frozen: {}", q.frozen);
        return q;
    }

    synchronized void thaw() {
        if (socket == null || thawed >= 0) {
            return;
        }
        try (GuestAgent agent = GuestAgent.connect(socket, TIMEOUT)) {
            thawed = agent.fsfreezeThaw();
            log.info("guest filesystems thawed: {}", thawed);
        } catch (Exception e) {
            error = "thaw failed: " + e.getMessage();
            log.warn("guest thaw failed", e);
        }
    }

    boolean requested() {
        return requested;
    }

    int frozen() {
        return frozen;
    }

    Map<String, Object> report() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("frozen", frozen);
        m.put("thawed", thawed);
        if (error != null) {
            m.put("error", error);
        }
        return m;
    }
}
