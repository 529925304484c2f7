package io.jvirt.blockcopy;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Instant;
import java.util.Locale;

/**
 * The durable record of one disk's block copy (store kind {@code blockcopy-<disk>} of the VM), written before each
 * step that changes what QEMU does. The last one is kept after the copy ends, so "which image is active and why"
 * can still be answered. See docs/blockcopy.md for each step's recovery.
 *
 * @param sourceNode       the format node the guest device ran on when the copy started
 * @param createdDest      we created the destination (so an interrupted start may remove it)
 * @param resumeAfterPivot the guest was running when the pivot paused it: resume it afterwards
 * @param active           the image the VM's definition names after the copy ended
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CopyRecord(String vm, String disk, String jobId, String source, String sourceFormat, String sourceNode,
                         String dest, String destFormat, boolean shallow, boolean createdDest, Step step,
                         Boolean resumeAfterPivot, Instant since, Instant updated, String error, String active,
                         Long pauseMillis) {

    /** A copy's life: the first six are under way (recovery acts on them), the last four are how it ended. */
    public enum Step {
        PREPARED, COPYING, READY, PIVOT_REQUESTED, PIVOT_DONE, ABORTING,
        PIVOTED, FINISHED, ABORTED, FAILED;

        /** The stored name: the constant's, in lower case with dashes ({@code pivot-requested}). */
        @JsonValue
        public String wire() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public boolean ended() {
            return ordinal() >= PIVOTED.ordinal();
        }

        @JsonCreator
        static Step of(String wire) {
            for (Step s : values()) {
                if (s.wire().equals(wire)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown block copy step " + wire);
        }

        @Override
        public String toString() {
            return wire();
        }
    }

    boolean ended() {
        return step.ended();
    }

    CopyRecord at(Step s) {
        return new CopyRecord(vm, disk, jobId, source, sourceFormat, sourceNode, dest, destFormat, shallow, createdDest,
                s, resumeAfterPivot, since, Instant.now(), error, active, pauseMillis);
    }

    CopyRecord resumingAfterPivot(boolean resume) {
        return new CopyRecord(vm, disk, jobId, source, sourceFormat, sourceNode, dest, destFormat, shallow, createdDest,
                step, resume, since, Instant.now(), error, active, pauseMillis);
    }

    CopyRecord ended(Step s, String activeImage, String why, Long pause) {
        return new CopyRecord(vm, disk, jobId, source, sourceFormat, sourceNode, dest, destFormat, shallow, createdDest,
                s, resumeAfterPivot, since, Instant.now(), why, activeImage, pause);
    }

    String targetNode() {
        return jobId + "-fmt";
    }

    String targetFileNode() {
        return jobId + "-file";
    }
}
