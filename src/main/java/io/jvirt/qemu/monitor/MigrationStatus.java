package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonEnumDefaultValue;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** A migration's status (QAPI {@code MigrationStatus}), from query-migrate and the MIGRATION event. */
public enum MigrationStatus {
    NONE, SETUP, CANCELLING, CANCELLED, ACTIVE, POSTCOPY_ACTIVE, POSTCOPY_PAUSED, POSTCOPY_RECOVER, COMPLETED, FAILED,
    COLO, PRE_SWITCHOVER, DEVICE, WAIT_UNPLUG,
    @JsonEnumDefaultValue UNKNOWN;

    /** QEMU's name: the constant's, in lower case with dashes. */
    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Completed, failed or cancelled: the migration is over. */
    public boolean isEnd() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    /** Past the switch to post-copy and not ended: the RAM is split between the two QEMUs. */
    public boolean isPostcopy() {
        return this == POSTCOPY_ACTIVE || this == POSTCOPY_PAUSED || this == POSTCOPY_RECOVER;
    }

    /** A migration is under way (and could be cancelled). */
    public boolean isUnderWay() {
        return this == SETUP || this == ACTIVE || this == DEVICE || this == PRE_SWITCHOVER || this == CANCELLING;
    }
}
