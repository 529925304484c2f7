package io.jvirt.qemu.monitor;

/** QEMU's enum values as Java enums: each constant knows the name QEMU spells it with. */
final class WireNames {
    private WireNames() {
    }

    interface Named {
        String wire();
    }

    /** The constant QEMU calls {@code wire}, or {@code unknown} for a value this build does not know. */
    static <E extends Enum<E> & Named> E parse(Class<E> type, String wire, E unknown) {
        for (E e : type.getEnumConstants()) {
            if (e.wire().equals(wire)) {
                return e;
            }
        }
        return unknown;
    }
}
