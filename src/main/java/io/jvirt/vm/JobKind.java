package io.jvirt.vm;

import java.util.Locale;

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

    /** The usual wire name of an enum kind: {@code prefix} and the constant's name in lower case with dashes. */
    static String wireName(String prefix, Enum<?> kind) {
        return prefix + kind.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
