package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.ConsoleLog;
import io.jvirt.qemu.ConsolePolicy;
import io.jvirt.qemu.SerialConsole;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * A running VM's console history as something to carry to another host (live migration): read on the source,
 * appended on the destination before the guest runs there, so the destination's console log (what
 * {@code GET /v1/vms/{vm}/console} serves) starts with the source's history.
 */
public final class ConsoleHistory {
    /**
     * Bytes of a VM's history ending at ({@code generation}, {@code end}) of its log; {@code skipped} bytes before
     * them were left out (-1: unknown, the log rotated).
     */
    public record Chunk(byte[] bytes, long skipped, long generation, long end) {
    }

    private final VmManager vms;

    public ConsoleHistory(VmManager vms) {
        this.vms = vms;
    }

    /**
     * How much history this host keeps of a VM that arrives: half its console cap, so the history survives as much
     * output again before the log rotates.
     */
    public int keepBytes() {
        return (int) Math.min(Integer.MAX_VALUE - 8, ConsolePolicy.global().logBytes() / 2);
    }

    /** The last {@code max} bytes of the VM's history; empty without a live console. */
    public Optional<Chunk> tail(String vm, int max) {
        return vms.console(vm).map(c -> {
            try {
                return chunk(c.tail(max));
            } catch (IOException e) {
                throw unreadable(vm, e);
            }
        });
    }

    /** What the history gained since {@code since} (a chunk's end), at most its last {@code max} bytes. */
    public Optional<Chunk> since(String vm, Chunk since, int max) {
        return vms.console(vm).map(c -> {
            try {
                return chunk(c.since(new ConsoleLog.Mark(since.generation(), since.end()), max));
            } catch (IOException e) {
                throw unreadable(vm, e);
            }
        });
    }

    /** Appends {@code bytes} to the VM's history here (its QEMU runs, the guest not yet). */
    public void append(String vm, byte[] bytes) {
        SerialConsole c = vms.console(vm).orElseThrow(() -> new JvirtException(ErrorCode.INVALID_STATE,
                "VM '" + vm + "' has no console connection here", Map.of("vm", vm)));
        try {
            c.appendHistory(bytes);
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "cannot write the console history of VM '" + vm + "': " + e, Map.of("vm", vm));
        }
    }

    private static Chunk chunk(ConsoleLog.Tail t) {
        return new Chunk(t.bytes(), t.skipped(), t.upTo().generation(), t.upTo().end());
    }

    private static JvirtException unreadable(String vm, IOException e) {
        return new JvirtException(ErrorCode.INTERNAL, "cannot read the console history of VM '" + vm + "': " + e, Map.of("vm", vm));
    }
}
