package io.jvirt.blockcopy;

import io.jvirt.error.Fault;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The copy's own thread, from its start (or its adoption after a restart) until it ends: it follows QEMU's events,
 * records the READY step, reports progress, and ends the copy when QEMU's job or QEMU itself fails, unless a
 * pivot or abort is in charge.
 */
record CopyWatch(Copies copies) {
    private static final Logger log = LoggerFactory.getLogger(CopyWatch.class);
    private static final Duration SAMPLE_EVERY = Duration.ofMillis(500);

    void start(ActiveCopy c) {
        Thread.ofVirtual().name("blockcopy-" + c.record().vm() + "-" + c.record().disk()).start(() -> watch(c));
    }

    private void watch(ActiveCopy c) {
        try {
            while (!c.isEnded()) {
                c.awaitChange(SAMPLE_EVERY); // nothing happened in time: time for a progress report
                if (c.isEnded()) {
                    return;
                }
                if (c.isControlled()) { // a pivot or abort is in charge and will end the copy
                    c.awaitEnd(SAMPLE_EVERY);
                    continue;
                }
                if (c.ifUncontrolled(() -> endIfFailed(c), false)) {
                    return;
                }
                if (c.readyUnrecorded()) {
                    c.ifUncontrolled(() -> {
                        copies.save(c, c.record().at(CopyRecord.Step.READY));
                        return null;
                    }, null);
                    c.sampleQuietly();
                    copies.publish(c, "ready", c.progress(), "source and destination are in sync; pivot or finish when you like");
                    Fault.point("blockcopy", "ready", c.qemuPid());
                    c.readyRecorded().complete(null);
                    continue;
                }
                CopyProgress p = c.sampleQuietly();
                if (p != null) {
                    copies.publish(c, c.readyNow() ? "ready" : c.lastError() != null ? "error" : "copying", p, c.lastError());
                }
            }
        } catch (RuntimeException e) {
            log.warn("block copy {} of VM {}: watcher ended: {}", c.record().disk(), c.record().vm(), e.toString());
        }
    }

    /** Ends the copy if QEMU went away or its job concluded by itself (which a mirror never does unless it fails). */
    private boolean endIfFailed(ActiveCopy c) {
        String source = c.record().source();
        if (!c.monitor().isOpen()) {
            copies.end(c, CopyRecord.Step.FAILED, source,
                    "QEMU exited during the copy; the VM keeps its source image " + source, null);
            return true;
        }
        if (c.job().concluded().isDone()) {
            Optional<String> error = c.job().dismiss();
            String why = error.orElse(c.lastError());
            copies.end(c, CopyRecord.Step.FAILED, source, "the copy failed" + (why != null ? ": " + why : "")
                    + "; the guest stays on " + source, null);
            return true;
        }
        return false;
    }
}
