package io.jvirt.images;

import io.jvirt.vm.JobKind;

/** The VM job of bundles: exporting a (stopped) VM holds its slot so nothing starts it meanwhile. */
public enum BundleJob implements JobKind {
    EXPORT;

    @Override
    public String wire() {
        return JobKind.wireName("", this);
    }
}
