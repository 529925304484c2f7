package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonEnumDefaultValue;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** The status of a QEMU background job (QAPI {@code JobStatus}), from query-jobs and JOB_STATUS_CHANGE. */
public enum JobStatus {
    UNDEFINED, CREATED, RUNNING, PAUSED, READY, STANDBY, WAITING, PENDING, ABORTING, CONCLUDED,
    /** The job is gone (dismissed). */
    NULL,
    @JsonEnumDefaultValue UNKNOWN;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The job has ended (successfully or not) and will not change any more. */
    public boolean isEnd() {
        return this == CONCLUDED || this == NULL;
    }
}
