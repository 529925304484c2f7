package io.jvirt.error;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test-only fault points, one mechanism for every capability. {@code JVIRT_FAULT=<area>:<spec>} in jvirtd's
 * environment (or the system property {@code jvirt.fault}) acts at the point {@code <area>:<step>} the code passes
 * right after durably recording that step:
 * <ul>
 *   <li>{@code <step>} or {@code daemon-<step>}: the daemon halts (no shutdown hooks: like kill -9);</li>
 *   <li>{@code qemu-<step>}: the VM's QEMU is killed with SIGKILL and the daemon goes on;
 *       {@code both-<step>}: QEMU is killed, then the daemon halts;</li>
 *   <li>{@code fail-<step>}: the step fails with an error (the daemon lives on), to test clean-up paths;</li>
 *   <li>{@code fail-<step>:<flag file>}: the step fails as a full disk would, while the flag file exists;</li>
 *   <li>{@code hold-<step>:<dir>}: the flow stops at the step: it creates {@code <dir>/reached-<step>} and waits
 *       until {@code <dir>/go} exists, so a test can kill another process (the peer daemon, a QEMU) at exactly
 *       that phase, then let this side go on.</li>
 * </ul>
 * Areas and steps in use: {@code snapshot:} after-intent, after-freeze, before-switch, after-switch,
 * after-merge, after-definition, after-memory; {@code blockcopy:} copying, ready, pivot-requested, pivot-done,
 * after; {@code vm:} definition-write; {@code store:} write (every document write, e.g.
 * {@code store:fail-write:/tmp/flag}); {@code migration:} (source) begin, prepared, mirroring, mirrors-ready,
 * migrating, switchover, device, completed, finish-sent, confirmed, postcopy-requested, postcopy-active,
 * postcopy-running-there, postcopy-paused, postcopy-resuming, (destination) defined, incoming, finishing (pre-copy
 * and post-copy), resumed (its QEMU said its vCPUs run: the guest runs there), running (the start returned, before
 * {@code done} is recorded).
 */
public final class Fault {
    private Fault() {
    }

    public static void point(String area, String step) {
        point(area, step, -1);
    }

    /** As {@link #point(String, String)}, where {@code qemuPid} (or -1) is the QEMU a {@code qemu-} fault kills. */
    public static void point(String area, String step, long qemuPid) {
        String want = System.getProperty("jvirt.fault", System.getenv("JVIRT_FAULT"));
        if (want == null || !want.startsWith(area + ":")) {
            return;
        }
        String spec = want.substring(area.length() + 1);
        String where = area + ":" + step;
        boolean kill = spec.equals("qemu-" + step) || spec.equals("both-" + step);
        boolean halt = spec.equals(step) || spec.equals("daemon-" + step) || spec.equals("both-" + step);
        if (kill && qemuPid > 0) {
            System.err.println("JVIRT_FAULT: killing QEMU " + qemuPid + " at " + where);
            ProcessHandle.of(qemuPid).ifPresent(p -> {
                p.destroyForcibly();
                p.onExit().join();
            });
        }
        if (halt) {
            System.err.println("JVIRT_FAULT: halting at " + where);
            Runtime.getRuntime().halt(137);
        }
        if (spec.equals("fail-" + step)) {
            throw new JvirtException(ErrorCode.INTERNAL, "injected failure at " + where);
        }
        if (spec.startsWith("hold-" + step + ":")) {
            hold(where, Path.of(spec.substring(step.length() + 6)), step);
        }
        if (spec.startsWith("fail-" + step + ":") && Files.exists(Path.of(spec.substring(step.length() + 6)))) {
            throw new UncheckedIOException(new IOException("injected failure (" + want + "): No space left on device"));
        }
    }

    private static void hold(String where, Path dir, String step) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("reached-" + step), where);
            System.err.println("JVIRT_FAULT: holding at " + where + " until " + dir.resolve("go") + " exists");
            // a test-only point: a short sleep loop is simpler than a watch service and costs nothing in production
            while (!Files.exists(dir.resolve("go"))) {
                Thread.sleep(20);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.INTERNAL, "interrupted while held at " + where);
        }
    }
}
