package io.jvirt.snapshot;

/**
 * Test-only crash points: with {@code JVIRT_FAULT=snapshot:<step>} in jvirtd's environment (or the system property
 * {@code jvirt.fault}), the daemon halts (no shutdown hooks, like kill -9) right after durably recording that step.
 * Steps: after-intent, after-freeze, before-transaction (overlays made and added as nodes), after-switch (QEMU confirmed the new top, definition not yet updated), after-merge (external delete: images merged, records and files not yet updated),
 * after-definition. {@code JVIRT_FAULT=snapshot:fail-<step>} instead makes that step fail with an error (the
 * daemon lives on), to test clean-up paths such as the guest thaw.
 */
final class Fault {
    private Fault() {
    }

    static void point(String step) {
        String want = System.getProperty("jvirt.fault", System.getenv("JVIRT_FAULT"));
        if (want != null && want.equals("snapshot:" + step)) {
            System.err.println("JVIRT_FAULT: halting at snapshot:" + step);
            Runtime.getRuntime().halt(137);
        }
        if (want != null && want.equals("snapshot:fail-" + step)) {
            throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.INTERNAL, "injected failure at snapshot:" + step);
        }
    }
}
