package io.jvirt.cli;

/** A failure found on this side (an unreadable file, a wait that ran out, a usage error...) with its exit code. */
final class CliException extends Exception {
    private static final long serialVersionUID = 1L;
    final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    /** A usage error (exit 2), reported like picocli's own: with a pointer to the command's help. */
    static CliException usage(String message) {
        return new CliException(JvirtCli.EXIT_USAGE, message);
    }

    boolean isUsage() {
        return exitCode == JvirtCli.EXIT_USAGE;
    }
}
