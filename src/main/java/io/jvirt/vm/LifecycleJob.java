package io.jvirt.vm;

/** The jobs of the VM layer itself. */
public enum LifecycleJob implements JobKind {
    START, SHUTDOWN, DESTROY, SUSPEND, RESUME, UNDEFINE;

    @Override
    public String wire() {
        return JobKind.wireName("", this);
    }
}
