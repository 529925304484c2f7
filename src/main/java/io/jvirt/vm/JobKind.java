package io.jvirt.vm;

/**
 * What a job of a VM is: its name on the wire (the job slot's, the step record's, an operation's kind) and how it
 * is admitted. Each capability has an enum of its own kinds ({@link LifecycleJob}, snapshot and block copy jobs...).
 */
public interface JobKind {
    /** The name clients see, e.g. {@code snapshot-create}; also the key a recovery is registered under. */
    String wire();

    /** Only reads the VM's state (it takes the slot for a moment): no other capability's admission refuses it. */
    default boolean readsOnly() {
        return false;
    }
}
