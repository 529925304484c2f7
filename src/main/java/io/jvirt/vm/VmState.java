package io.jvirt.vm;

import com.fasterxml.jackson.annotation.JsonValue;

/** Lifecycle states of a VM. */
public enum VmState {
    SHUTOFF("shutoff"),
    STARTING("starting"),
    RUNNING("running"),
    PAUSED("paused"),
    SHUTTING_DOWN("shutting-down"),
    CRASHED("crashed");

    private final String wire;

    VmState(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    @com.fasterxml.jackson.annotation.JsonCreator
    public static VmState fromWire(String s) {
        for (VmState v : values()) {
            if (v.wire.equals(s)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown VM state " + s);
    }

    /** A QEMU process exists (or is being made) for the VM in this state. */
    public boolean isActive() {
        return this == STARTING || this == RUNNING || this == PAUSED || this == SHUTTING_DOWN;
    }
}
