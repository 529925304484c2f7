package io.jvirt.snapshot;

import io.jvirt.guest.GuestService;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guest filesystem freeze around a snapshot, through the guest agent (its VM's agent slot, io.jvirt.guest). Thaw
 * is idempotent and the service calls it on every path out of a snapshot, failed or not; a guest left frozen
 * would hang its writers.
 */
final class Quiesce {
    private static final Logger log = LoggerFactory.getLogger(Quiesce.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private final GuestService guest;
    private final String vm;
    private final boolean requested;
    private int frozen = -1;
    private int thawed = -1;
    private String error;

    private Quiesce(GuestService guest, String vm, boolean requested) {
        this.guest = guest;
        this.vm = vm;
        this.requested = requested;
    }

    static Quiesce none(boolean requested) {
        Quiesce q = new Quiesce(null, null, requested);
        if (requested) {
            q.error = "the VM is not running; nothing to freeze";
        }
        return q;
    }

    /** Freezes the guest's filesystems; a failure to freeze fails the snapshot before anything is changed. */
    static Quiesce freeze(GuestService guest, String vm) {
        Quiesce q = new Quiesce(guest, vm, true);
        try {
            q.frozen = guest.freeze(vm, TIMEOUT).filesystems();
        } catch (RuntimeException e) {
            q.thaw(); // a freeze that timed out may still have happened in the guest
            throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.QEMU_FAILED,
                    "cannot quiesce the guest (is the guest agent running?): " + e.getMessage(),
                    Map.of("quiesce", q.report()));
        }
        log.info("guest filesystems frozen: {}", q.frozen);
        return q;
    }

    synchronized void thaw() {
        if (guest == null || thawed >= 0) {
            return;
        }
        try {
            thawed = guest.thaw(vm, TIMEOUT).filesystems();
            log.info("guest filesystems thawed: {}", thawed);
        } catch (RuntimeException e) {
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
