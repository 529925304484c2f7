package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** A migration's status (QAPI {@code MigrationStatus}), from query-migrate and the MIGRATION event. */
public enum MigrationStatus implements WireNames.Named {
    NONE("none"), SETUP("setup"), CANCELLING("cancelling"), CANCELLED("cancelled"), ACTIVE("active"),
    POSTCOPY_ACTIVE("postcopy-active"), POSTCOPY_PAUSED("postcopy-paused"), POSTCOPY_RECOVER("postcopy-recover"),
    COMPLETED("completed"), FAILED("failed"), COLO("colo"), PRE_SWITCHOVER("pre-switchover"), DEVICE("device"),
    WAIT_UNPLUG("wait-unplug"), UNKNOWN("unknown");

    private final String wire;

    MigrationStatus(String wire) {
        this.wire = wire;
    }

    @Override
    @JsonValue
    public String wire() {
        return wire;
    }

    @JsonCreator
    public static MigrationStatus fromWire(String s) {
        return WireNames.parse(MigrationStatus.class, s, UNKNOWN);
    }

    /** Completed, failed or cancelled: the migration is over. */
    public boolean isEnd() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    /** A migration is under way (and could be cancelled). */
    public boolean isUnderWay() {
        return this == SETUP || this == ACTIVE || this == DEVICE || this == PRE_SWITCHOVER || this == CANCELLING;
    }
}
