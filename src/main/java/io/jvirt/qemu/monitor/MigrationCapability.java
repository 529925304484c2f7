package io.jvirt.qemu.monitor;

import java.util.Locale;

/** Migration capabilities jvirt sets (QAPI {@code MigrationCapability}); add one when a feature needs it. */
public enum MigrationCapability {
    /** MIGRATION events, so a migration's end is an event rather than a poll. */
    EVENTS;

    /** QEMU's name: the constant's, in lower case with dashes. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
