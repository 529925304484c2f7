package io.jvirt.migration;

import io.jvirt.qemu.monitor.Monitor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One incoming migration in this daemon (MigrationTarget's): the source's Prepare, the decision Finish or abort
 * makes, and what the destination QEMU told of it; from which it answers whether the guest may have run here.
 */
final class IncomingMigration {
    private static final Logger log = LoggerFactory.getLogger(MigrationTarget.class);

    final PeerMessages.Prepare req;
    final CompletableFuture<PeerMessages.Prepared> prepared = new CompletableFuture<>();
    /** "finish" or the reason to abort; completed once. */
    final CompletableFuture<String> decision = new CompletableFuture<>();
    final CompletableFuture<String> outcome = new CompletableFuture<>();
    volatile long lastHeard = System.nanoTime();
    volatile String phase = "prepare";
    /** Set at the switch of a post-copy: follows it past the guest's start here. */
    volatile PostcopyTarget postcopy;
    /** This QEMU entered post-copy (its MIGRATION event): it holds the guest's device state, the source never resumes. */
    final CompletableFuture<Void> switched = new CompletableFuture<>();
    /** A lost peer of a post-copy migration, for incoming() to weigh against the switch. */
    volatile CompletableFuture<String> peerLost = new CompletableFuture<>();
    /** The incoming QEMU's monitor, and whether it said RESUME: its vCPUs ran here (QEMU says so first). */
    volatile Monitor monitor;
    volatile boolean resumed;

    /** When Prepare arrived: the step log's origin. */
    final long since;

    IncomingMigration(PeerMessages.Prepare req, long since) {
        this.req = req;
        this.since = since;
    }

    /** Logs a step with its time since Prepare arrived (where Prepare's and Finish's time goes: bench/README.md). */
    void step(String what) {
        log.info("incoming migration {} of {}: {} at {} ms", req.id(), req.definition().name(), what,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since));
    }

    void heard() {
        lastHeard = System.nanoTime();
    }

    void abort(String why) {
        if (req.postcopy() && why.startsWith("peer lost") && !decision.isDone()) {
            peerLost.complete(why); // a QEMU past the switch is kept: incoming() decides
            return;
        }
        if (decision.complete("abort: " + why)) {
            log.warn("incoming migration {} of VM {}: aborted: {}", req.id(), req.definition().name(), why);
        }
    }

    /**
     * The source's daemon is gone before Finish. Its QEMU may have switched to post-copy (it records the switch, then
     * its own postcopy-active, before the device state reaches us): then ours holds the device state and the source
     * never resumes its guest, so ours is kept, paused, for the source's return (its restart finishes the post-copy).
     * A few seconds' grace lets a switch already on the wire arrive.
     */
    boolean keptAfterSwitch(String why) {
        try {
            switched.get(3, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (Exception e) {
            return false;
        }
        log.warn("incoming migration {}: VM {}: {}, but the source's QEMU switched to post-copy: this QEMU holds the"
                + " guest's device state; kept, waiting for the source to come back", req.id(), req.definition().name(), why);
        return true;
    }

    /**
     * Whether the guest's vCPUs may have run here, after a failure: cont comes only after {@code finishing} is
     * recorded, and QEMU sends RESUME before it lets the vCPUs go (so a guest that never said RESUME never ran,
     * and the source's state is still the latest). Waits for the events of a QEMU that died to be delivered; a
     * QEMU still there is asked; when neither can tell, it may have run.
     */
    boolean ranHere() {
        Monitor m = monitor;
        if (!"finishing".equals(phase) || m == null) {
            return false;
        }
        if (resumed) {
            return true;
        }
        if (m.isOpen()) {
            try {
                if (m.queryStatus().status() == io.jvirt.qemu.monitor.RunState.RUNNING) {
                    return true;
                }
            } catch (RuntimeException e) {
                // it died meanwhile: its events tell
            }
        }
        try {
            m.eventsDelivered().get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return true; // a QEMU that neither ended nor runs: cannot tell, so it may have run
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
        return resumed;
    }
}
