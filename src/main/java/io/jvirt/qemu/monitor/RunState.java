package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** QEMU's run state of the guest (QAPI {@code RunState}), as {@code query-status} reports it. */
public enum RunState implements WireNames.Named {
    DEBUG("debug"), INMIGRATE("inmigrate"), INTERNAL_ERROR("internal-error"), IO_ERROR("io-error"), PAUSED("paused"),
    POSTMIGRATE("postmigrate"), PRELAUNCH("prelaunch"), FINISH_MIGRATE("finish-migrate"), RESTORE_VM("restore-vm"),
    RUNNING("running"), SAVE_VM("save-vm"), SHUTDOWN("shutdown"), SUSPENDED("suspended"), WATCHDOG("watchdog"),
    GUEST_PANICKED("guest-panicked"), COLO("colo"),
    /** A state this build does not know (a newer QEMU). */
    UNKNOWN("unknown");

    private final String wire;

    RunState(String wire) {
        this.wire = wire;
    }

    @Override
    @JsonValue
    public String wire() {
        return wire;
    }

    @JsonCreator
    public static RunState fromWire(String s) {
        return WireNames.parse(RunState.class, s, UNKNOWN);
    }
}
