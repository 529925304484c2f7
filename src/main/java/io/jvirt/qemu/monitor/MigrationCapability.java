package io.jvirt.qemu.monitor;

import java.util.Locale;

/** Migration capabilities jvirt sets (QAPI {@code MigrationCapability}); add one when a feature needs it. */
public enum MigrationCapability {
    /** MIGRATION events, so a migration's end is an event rather than a poll. */
    EVENTS,
    /** The source stops at {@code pre-switchover} (vCPUs paused) until {@code migrate-continue}: storage mirrors end there. */
    PAUSE_BEFORE_SWITCHOVER,
    /** The destination activates its disks only at {@code cont}, not when the stream ends (libvirt sets it always). */
    LATE_BLOCK_ACTIVATE,
    /** Throttle the guest's vCPUs when RAM does not converge. */
    AUTO_CONVERGE,
    /** Allow switching to post-copy ({@code migrate-start-postcopy}); must match on both sides. */
    POSTCOPY_RAM,
    /** RAM over several parallel connections ({@code multifd-channels}); must match on both sides. */
    MULTIFD;

    /** QEMU's name: the constant's, in lower case with dashes. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
