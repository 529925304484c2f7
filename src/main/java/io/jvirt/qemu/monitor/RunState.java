package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonEnumDefaultValue;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** QEMU's run state of the guest (QAPI {@code RunState}), as {@code query-status} reports it. */
public enum RunState {
    DEBUG, INMIGRATE, INTERNAL_ERROR, IO_ERROR, PAUSED, POSTMIGRATE, PRELAUNCH, FINISH_MIGRATE, RESTORE_VM, RUNNING,
    SAVE_VM, SHUTDOWN, SUSPENDED, WATCHDOG, GUEST_PANICKED, COLO,
    /** A state this build does not know (a newer QEMU). */
    @JsonEnumDefaultValue UNKNOWN;

    /** QEMU's name: the constant's, in lower case with dashes (QAPI's own spelling rule). */
    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
