package io.jvirt.blockcopy;

import io.jvirt.vm.JobKind;

/** The VM jobs of a block copy: each holds the VM's slot for one step only; the copy in between holds none. */
public enum CopyJob implements JobKind {
    START("blockcopy-start"), PIVOT("blockcopy-pivot"), ABORT("blockcopy-abort"), RECOVER("blockcopy-recover");

    /** The kind of the operation a copy request runs (from its start until the copy ends). */
    public static final String OPERATION = "blockcopy";

    private final String wire;

    CopyJob(String wire) {
        this.wire = wire;
    }

    @Override
    public String wire() {
        return wire;
    }
}
