package io.jvirt.blockcopy;

import io.jvirt.vm.VmJobContext;

/**
 * Test-only crash points (see docs/blockcopy.md). With {@code JVIRT_FAULT=blockcopy:<who>-<step>} in jvirtd's
 * environment (or the system property {@code jvirt.fault}) the daemon, right after durably recording {@code step}:
 * {@code daemon} halts itself (no shutdown hooks: like kill -9), {@code qemu} kill -9s the VM's QEMU and goes on,
 * {@code both} kills QEMU and then halts. Steps: copying, ready, pivot-requested, pivot-done, after.
 */
final class Fault {
    private Fault() {
    }

    static void point(String step, long qemuPid) {
        String want = System.getProperty("jvirt.fault", System.getenv("JVIRT_FAULT"));
        if (want == null || !want.startsWith("blockcopy:") || !want.endsWith("-" + step)) {
            return;
        }
        String who = want.substring("blockcopy:".length(), want.length() - step.length() - 1);
        if (who.equals("qemu") || who.equals("both")) {
            System.err.println("JVIRT_FAULT: killing QEMU " + qemuPid + " at blockcopy:" + step);
            ProcessHandle.of(qemuPid).ifPresent(p -> {
                p.destroyForcibly();
                p.onExit().join();
            });
        }
        if (who.equals("daemon") || who.equals("both")) {
            System.err.println("JVIRT_FAULT: halting at blockcopy:" + step);
            Runtime.getRuntime().halt(137);
        }
    }

    static void point(String step, VmJobContext ctx) {
        point(step, ctx.qemu().map(q -> q.pid()).orElse(-1L));
    }
}
