package io.jvirt.cli;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/**
 * picocli's model of {@code jvirt}: the command tree, how usage errors and failures are reported, and the exit codes
 * (through picocli's {@code IExitCodeExceptionMapper}, {@link ExitCodes#of}).
 *
 * <p>Subcommands are registered lazily: picocli reflects over every registered command class when it starts, which
 * costs a one-shot command more than its call to the daemon, so only the invoked one is registered (all of them for
 * help, errors and the completion script).
 */
final class CommandTree {
    /** Every subcommand, in the order help lists them. */
    static final List<String> SUBCOMMANDS = List.of("list", "define", "undefine", "start", "shutdown", "destroy",
            "suspend", "resume", "info", "console", "events", "guest", "domstats", "top", "snapshot", "blockcopy", "blockjob",
            "setmem", "memory", "setvcpus", "vcpupin", "emulatorpin", "attach-disk", "detach-disk", "attach-interface",
            "detach-interface", "iothread", "migrate", "migrate-cancel", "migrate-postcopy", "vol", "pool",
            "image", "net-define", "net-start", "net-destroy", "net-undefine", "net-list", "net-info", "net-autostart",
            "net-dhcp-leases", "nodeinfo", "admin", "pki", "completion", "__complete", "help");

    private CommandTree() {
    }

    /** A new instance of subcommand {@code name} (or alias), or null. */
    static Object newSubcommand(String name) {
        return switch (name) {
            case "list" -> new VmCommands.ListCmd();
            case "define" -> new VmCommands.DefineCmd();
            case "undefine" -> new VmCommands.UndefineCmd();
            case "start" -> new VmCommands.StartCmd();
            case "shutdown" -> new VmCommands.ShutdownCmd();
            case "destroy" -> new VmCommands.DestroyCmd();
            case "suspend" -> new VmCommands.SuspendCmd();
            case "resume" -> new VmCommands.ResumeCmd();
            case "info", "dominfo" -> new VmCommands.InfoCmd();
            case "console" -> new ConsoleCommand();
            case "events" -> new EventsCommand();
            case "guest" -> new GuestCommands();
            case "domstats" -> new DomStatsCommand();
            case "top" -> new TopCommand();
            case "snapshot" -> new SnapshotCommands();
            case "blockcopy" -> new BlockCopyCommands.BlockCopyCmd();
            case "blockjob" -> new BlockCopyCommands.BlockJobCmd();
            case "migrate" -> new MigrateCommands.MigrateCmd();
            case "migrate-cancel" -> new MigrateCommands.MigrateCancelCmd();
            case "migrate-postcopy" -> new MigrateCommands.MigratePostcopyCmd();
            case "setmem" -> new HotplugCommands.SetmemCmd();
            case "memory" -> new HotplugCommands.MemoryCmd();
            case "setvcpus" -> new HotplugCommands.SetvcpusCmd();
            case "vcpupin" -> new HotplugCommands.VcpupinCmd();
            case "emulatorpin" -> new HotplugCommands.EmulatorpinCmd();
            case "attach-disk" -> new HotplugCommands.AttachDiskCmd();
            case "detach-disk" -> new HotplugCommands.DetachDiskCmd();
            case "attach-interface" -> new HotplugCommands.AttachInterfaceCmd();
            case "detach-interface" -> new HotplugCommands.DetachInterfaceCmd();
            case "iothread" -> new HotplugCommands.IothreadCmd();
            case "vol" -> new StorageCommands.VolCmd();
            case "pool" -> new StorageCommands.PoolCmd();
            case "image" -> new ImageCommands();
            case "admin" -> new AdminCommands();
            case "pki" -> new PkiCommands();
            case "nodeinfo" -> new NodeInfoCommand();
            case "__complete" -> new Completion.NamesCmd();
            case "help" -> new CommandLine.HelpCommand();
            default -> NetworkCommands.newCommand(name); // null for "completion": it needs the whole tree, as help does
        };
    }

    /** The subcommand word of {@code args} (skipping global options and their values), or null. */
    static String invokedSubcommand(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--socket", "--connect", "--tls-dir", "-o", "--output", "--admin-socket" -> i++; // their value follows
                case "-h", "--help", "-V", "--version" -> {
                    return null;
                }
                default -> {
                    if (!a.startsWith("-")) return a;
                }
            }
        }
        return null;
    }

    /** The root command with only what {@code args} invokes registered (everything when unsure). */
    static CommandLine forArgs(Session session, String[] args) {
        String invoked = invokedSubcommand(args);
        Object only = invoked == null || invoked.equals("help") ? null : newSubcommand(invoked);
        CommandLine cl = root(session);
        if (only != null) {
            cl.addSubcommand(only);
        } else {
            addAll(cl);
        }
        return configure(cl, session);
    }

    /** The root command with every subcommand (the completion script is generated from it). */
    static CommandLine full(Session session) {
        CommandLine cl = root(session);
        addAll(cl);
        return configure(cl, session);
    }

    private static void addAll(CommandLine cl) {
        for (String name : SUBCOMMANDS) {
            Object sub = name.equals("completion") ? new Completion.ScriptCmd() : newSubcommand(name);
            cl.addSubcommand(sub);
        }
    }

    private static CommandLine root(Session session) {
        CommandLine cl = new CommandLine(new JvirtCli(session));
        // before subcommands are added: they inherit it (ScopeType.INHERIT)
        cl.getCommandSpec().usageMessage().footer(footer());
        return cl;
    }

    /** Streams, handlers and exit codes; once the subcommands are added (picocli applies these to those it has). */
    private static CommandLine configure(CommandLine cl, Session session) {
        cl.setOut(new PrintWriter(new OutputStreamWriter(session.out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(session.err, StandardCharsets.UTF_8), true));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExitCodeExceptionMapper(ExitCodes::of);
        cl.setParameterExceptionHandler((ex, args) -> usageError(ex.getCommandLine(), ex.getMessage(), ex));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof CliException c && c.isUsage()) return usageError(cmd, c.getMessage(), null);
            session.fail(ex);
            return cmd.getExitCodeExceptionMapper().getExitCode(ex);
        });
        return cl;
    }

    private static String[] footer() {
        String[] codes = ExitCodes.helpFooter();
        String[] all = new String[codes.length + 1];
        System.arraycopy(codes, 0, all, 0, codes.length);
        all[codes.length] = "%nEnvironment: JVIRT_SOCKET sets the default --socket. See docs/cli.md.";
        return all;
    }

    /**
     * {@code jvirt: error: MESSAGE} and a pointer to the help (exit 2). A command group (no code of its own, e.g. a
     * bare {@code jvirt snapshot}) prints its usage instead, which lists its subcommands.
     */
    private static int usageError(CommandLine cmd, String message, CommandLine.ParameterException ex) {
        PrintWriter w = cmd.getErr();
        w.println("jvirt: error: " + message);
        if (ex != null) CommandLine.UnmatchedArgumentException.printSuggestions(ex, w);
        if (!cmd.getSubcommands().isEmpty() && !(cmd.getCommand() instanceof Callable)) {
            cmd.usage(w);
        } else {
            w.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        }
        w.flush();
        return JvirtCli.EXIT_USAGE;
    }

    static int execute(Session session, String[] args) {
        return forArgs(session, args).execute(args);
    }
}
