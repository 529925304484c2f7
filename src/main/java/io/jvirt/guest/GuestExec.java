package io.jvirt.guest;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.GuestAgentReplies;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Commands run in the guest through its agent: start one (guest-exec), ask how it is (guest-exec-status), or start
 * and wait for its exit code and output. The agent tells of an exit only when asked, so a wait asks again and
 * again (from 20 ms, backing off to 500 ms), each question a short call of its own through the agent slot: a long
 * command never holds the slot, and other agent calls of the VM go on meanwhile.
 */
public final class GuestExec {
    private final AgentSessions sessions;

    /** What to run: {@code path} and {@code args}; {@code env} as NAME=VALUE; {@code input} given to its stdin. */
    public record Request(String path, List<String> args, List<String> env, String input, Boolean captureOutput) {
        void check() {
            if (path == null || path.isBlank()) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "exec needs 'path', the program to run in the guest");
            }
            for (String s : all()) {
                if (s.indexOf(0) >= 0) {
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "exec arguments must not hold NUL characters");
                }
            }
        }

        private List<String> all() {
            java.util.ArrayList<String> l = new java.util.ArrayList<>(List.of(path));
            if (args != null) {
                l.addAll(args);
            }
            if (env != null) {
                l.addAll(env);
            }
            return l;
        }

        boolean capture() {
            return !Boolean.FALSE.equals(captureOutput);
        }
    }

    GuestExec(AgentSessions sessions) {
        this.sessions = sessions;
    }

    /** Starts the command; returns its guest pid. */
    public long start(String vm, Request req, Duration timeout) {
        req.check();
        byte[] input = req.input() == null ? null : req.input().getBytes(StandardCharsets.UTF_8);
        return sessions.call(vm, "exec", timeout, (a, left) ->
                a.exec(req.path(), req.args() == null ? List.of() : req.args(), req.env(), input, req.capture(), left));
    }

    /** How the command {@code pid} is; once it has exited, the agent forgets it (a second ask fails). */
    public GuestViews.Exec status(String vm, long pid, Duration timeout) {
        GuestAgentReplies.ExecStatus s = sessions.call(vm, "exec status", timeout, (a, left) -> a.execStatus(pid, left));
        return new GuestViews.Exec(vm, pid, s.exited(), s.exitcode(), s.signal(), text(s.outData()), text(s.errData()),
                s.outTruncated(), s.errTruncated());
    }

    /** Starts the command and waits up to {@code wait} for it to exit; then its exit code and output. */
    public GuestViews.Exec run(String vm, Request req, Duration wait, Duration timeout) {
        long pid = start(vm, req, timeout);
        long deadline = System.nanoTime() + wait.toNanos();
        long pause = 20;
        while (true) {
            GuestViews.Exec s = status(vm, pid, timeout);
            if (s.exited()) {
                return s;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new JvirtException(ErrorCode.TIMEOUT, "the command did not exit within " + AgentSessions.seconds(wait)
                        + "; it keeps running in the guest as pid " + pid + " (GET .../guest/exec/" + pid + " asks again)",
                        Map.of("vm", vm, "pid", pid));
            }
            sleep(Math.min(pause, Math.max(1, left / 1_000_000)));
            pause = Math.min(500, pause * 2);
        }
    }

    private static String text(String base64) {
        return base64 == null ? null : new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JvirtException(ErrorCode.CANCELLED, "interrupted while waiting for the command");
        }
    }
}
