package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The status of a QEMU background job (QAPI {@code JobStatus}), from query-jobs and JOB_STATUS_CHANGE. */
public enum JobStatus implements WireNames.Named {
    UNDEFINED("undefined"), CREATED("created"), RUNNING("running"), PAUSED("paused"), READY("ready"),
    STANDBY("standby"), WAITING("waiting"), PENDING("pending"), ABORTING("aborting"), CONCLUDED("concluded"),
    /** The job is gone (dismissed). */
    NULL("null"),
    UNKNOWN("unknown");

    private final String wire;

    JobStatus(String wire) {
        this.wire = wire;
    }

    @Override
    @JsonValue
    public String wire() {
        return wire;
    }

    @JsonCreator
    public static JobStatus fromWire(String s) {
        return WireNames.parse(JobStatus.class, s, UNKNOWN);
    }

    /** The job has ended (successfully or not) and will not change any more. */
    public boolean isEnd() {
        return this == CONCLUDED || this == NULL;
    }
}
