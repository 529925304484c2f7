package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonValue;

/** Migration capabilities jvirt sets (QAPI {@code MigrationCapability}); add one when a feature needs it. */
public enum MigrationCapability implements WireNames.Named {
    /** MIGRATION events, so a migration's end is an event rather than a poll. */
    EVENTS("events");

    private final String wire;

    MigrationCapability(String wire) {
        this.wire = wire;
    }

    @Override
    @JsonValue
    public String wire() {
        return wire;
    }
}
