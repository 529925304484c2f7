package io.jvirt.vm;

/** The jobs of the VM layer itself. */
public enum LifecycleJob implements JobKind {
    START("start"), SHUTDOWN("shutdown"), DESTROY("destroy"), SUSPEND("suspend"), RESUME("resume"),
    UNDEFINE("undefine");

    private final String wire;

    LifecycleJob(String wire) {
        this.wire = wire;
    }

    @Override
    public String wire() {
        return wire;
    }
}
