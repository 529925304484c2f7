package io.jvirt.qemu;

/**
 * How a QEMU process ended. {@code exitCode} is known only for processes this daemon spawned itself (an adopted
 * process is not our child). {@code requested} is true when we asked for it (quit, destroy).
 */
public record QemuExit(Integer exitCode, boolean requested, String description) {
    static String describe(Integer code) {
        if (code == null) {
            return "QEMU exited";
        }
        if (code > 128 && code < 160) {
            int sig = code - 128;
            return "QEMU was killed by signal " + sig + signalName(sig);
        }
        return "QEMU exited with status " + code;
    }

    private static String signalName(int sig) {
        return switch (sig) {
            case 9 -> " (SIGKILL)";
            case 15 -> " (SIGTERM)";
            case 6 -> " (SIGABRT)";
            case 11 -> " (SIGSEGV)";
            case 2 -> " (SIGINT)";
            case 1 -> " (SIGHUP)";
            default -> "";
        };
    }
}
