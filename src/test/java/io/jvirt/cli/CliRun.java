package io.jvirt.cli;

import io.jvirt.testing.DaemonProcess;

/** {@link CliResult} for tests of other packages: one in-process jvirt run against a daemon. */
public final class CliRun {
    private CliRun() {
    }

    public record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
        }
    }

    public static Result run(DaemonProcess daemon, String... args) {
        CliResult r = CliResult.run(daemon, args);
        return new Result(r.exit(), r.out(), r.err());
    }
}
