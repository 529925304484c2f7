package io.jvirt.cli;

import java.io.InputStream;
import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ScopeType;

/**
 * {@code jvirt}: the command-line client of jvirtd. It only speaks the HTTP/JSON API (docs/api.md) and imports
 * nothing of the daemon but the neutral {@code io.jvirt.error}.
 *
 * <p>Entry points: {@link #main(String[])} (exits the JVM) and {@link #run(String[], InputStream, PrintStream,
 * PrintStream)} (in-process, returns the exit code). A run goes through {@link QuickPath} when it can, else through
 * picocli ({@link CommandTree}). This class is also the root command: the global options, and the command group
 * every subcommand hangs off (without a subcommand it prints its usage, exit 2, as every group does).
 */
@Command(name = "jvirt", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true, version = "jvirt " + JvirtCli.VERSION,
        sortOptions = false, usageHelpAutoWidth = false,
        description = "Client of jvirtd, the jvirt virtualization daemon (QEMU/KVM).",
        footerHeading = "%nExit codes:%n")
public final class JvirtCli {
    public static final String VERSION = "0.1.0";

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_NOT_FOUND = 3;
    public static final int EXIT_CONFLICT = 4;
    public static final int EXIT_UNREACHABLE = 5;
    public static final int EXIT_TIMEOUT = 6;
    public static final int EXIT_INVALID = 7;
    public static final int EXIT_QEMU = 8;
    public static final int EXIT_UNAVAILABLE = 9;

    /** Tests turn this off to check that both paths print the same. */
    static volatile boolean quickQueries = true;

    final Session session;

    @Mixin
    Options.Connection connection;

    @Mixin
    Options.Output output;

    JvirtCli(Session session) {
        this.session = session;
        this.connection = session.connection; // picocli fills the session's own option objects
        this.output = session.format;
    }

    public static void main(String[] args) {
        int code = run(args, System.in, System.out, System.err);
        System.out.flush();
        System.err.flush();
        // halt, not exit: Runtime.exit logs through System.Logger first (JDK 21+), which initializes the JDK's
        // logging for nothing (about 25 classes on every one-shot command). jvirt has no shutdown work left here:
        // the console restores the terminal itself before it returns.
        Runtime.getRuntime().halt(code);
    }

    /** Runs {@code jvirt args} in-process (stdin is {@link System#in}) and returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** Runs {@code jvirt args} in-process with the given standard streams and returns the exit code. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        if (quickQueries) {
            try (Session quick = new Session(in, out, err, System.getenv())) {
                Integer code = QuickPath.run(quick, args);
                if (code != null) return code;
            }
        }
        try (Session session = new Session(in, out, err, System.getenv())) {
            return CommandTree.execute(session, args);
        }
    }
}
