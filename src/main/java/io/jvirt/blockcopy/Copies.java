package io.jvirt.blockcopy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.JobProgress;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmDefinition;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The copies of this daemon: those under way (in memory, one per disk), their durable records (the last one kept
 * after a copy ended), and the events that tell clients how they go. Shared by every phase of a copy.
 */
final class Copies {
    static final String KIND = "blockcopy-";
    private static final Logger log = LoggerFactory.getLogger(Copies.class);
    private final VmManager vms;
    private final DocumentStore store;
    private final Map<String, ActiveCopy> active = new ConcurrentHashMap<>();
    private final List<Consumer<CopyEvent>> listeners = new CopyOnWriteArrayList<>();

    Copies(VmManager vms, DocumentStore store) {
        this.vms = vms;
        this.store = store;
    }

    void addListener(Consumer<CopyEvent> listener) {
        listeners.add(listener);
    }

    /** The definition of a VM this daemon has ({@code vm-not-found} otherwise). */
    VmDefinition definition(String vm) {
        return vms.get(vm).definition();
    }

    // ---- records ---------------------------------------------------------------------------------------------------

    void save(CopyRecord r) {
        store.put(r.vm(), KIND + r.disk(), r);
    }

    /** Durably, then in memory: the copy is at this step. */
    void save(ActiveCopy c, CopyRecord r) {
        save(r);
        c.record(r);
    }

    Optional<CopyRecord> last(String vm, String disk) {
        return store.get(vm, KIND + disk, CopyRecord.class);
    }

    void forget(CopyRecord r) {
        store.remove(r.vm(), KIND + r.disk());
    }

    // ---- copies under way --------------------------------------------------------------------------------------

    void add(ActiveCopy c) {
        active.put(c.key(), c);
    }

    Optional<ActiveCopy> get(String vm, String disk) {
        return Optional.ofNullable(active.get(vm + "/" + disk));
    }

    List<ActiveCopy> onVm(String vm) {
        return active.values().stream().filter(c -> c.record().vm().equals(vm)).toList();
    }

    /** The copy under way on a disk of a VM that has it, or {@code no-block-job} saying how the last one ended. */
    ActiveCopy require(String vm, String disk) {
        definition(vm).requireDisk(disk);
        return get(vm, disk).orElseThrow(() -> noJob(vm, disk, last(vm, disk).orElse(null)));
    }

    static JvirtException noJob(String vm, String disk, CopyRecord last) {
        String msg = "no block job on disk " + disk + " of VM '" + vm + "'";
        Map<String, Object> details = new LinkedHashMap<>(Map.of("vm", vm, "disk", disk));
        if (last != null && last.ended()) {
            msg += "; the last copy " + CopyView.describeEnd(last);
            details.put("activeImage", String.valueOf(last.active()));
        }
        return new JvirtException(ErrorCode.NO_BLOCK_JOB, msg, details);
    }

    /** Records how the copy ended (durably), stops following it and tells whoever waits. Idempotent. */
    void end(ActiveCopy c, CopyRecord.Step step, String activeImage, String why, Long pause) {
        boolean now = c.end(c.record().ended(step, activeImage, why, pause), r -> {
            try {
                save(r);
            } catch (RuntimeException e) {
                // the definition already says where the guest runs; the copy's record is only its history
                log.error("VM {}: cannot record the end of the copy of {}: {}", r.vm(), r.disk(), e.toString());
            }
        }, () -> active.remove(c.key(), c));
        if (now) {
            publish(c, step.wire(), c.progress(), CopyView.describeEnd(c.record()));
        }
    }

    /** Into the VM layer's job progress, which stats and metrics show (an ended copy stays visible a while). */
    private void reportProgress(CopyRecord r, String phase, CopyProgress p, String message) {
        boolean ended = r.ended();
        vms.jobProgress().report(new JobProgress.Entry(r.vm(), CopyJob.OPERATION, r.disk(), r.jobId(), phase,
                p == null ? 0 : p.transferred(), p == null ? 0 : p.total(), p == null ? 0 : p.remaining(),
                p == null || ended ? 0 : p.rate(), r.since(), java.time.Instant.now(), ended ? r.step().wire() : null,
                message));
    }

    void publish(ActiveCopy c, String phase, CopyProgress p, String message) {
        CopyEvent e = CopyEvent.of(c.record(), phase, p, message);
        reportProgress(c.record(), phase, p, message);
        for (Consumer<CopyEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                log.debug("block copy listener failed: {}", ex.toString());
            }
        }
    }
}
