package io.jvirt.blockcopy;

import io.jvirt.vm.JobKind;

/**
 * The VM jobs of a block copy, {@code blockcopy-start} etc.: each holds the VM's slot for one step only; the copy
 * in between holds none.
 */
public enum CopyJob implements JobKind {
    START, PIVOT, ABORT, RECOVER;

    /** The kind of the operation a copy request runs (from its start until the copy ends). */
    public static final String OPERATION = "blockcopy";

    @Override
    public String wire() {
        return JobKind.wireName(OPERATION + "-", this);
    }
}
