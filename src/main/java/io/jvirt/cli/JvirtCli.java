package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jvirt}: the command-line client of jvirtd. It only speaks the HTTP/JSON API (docs/api.md).
 *
 * <p>Entry points: {@link #main(String[])} (exits the JVM) and {@link #run(String[], PrintStream, PrintStream)} /
 * {@link #run(String[], InputStream, PrintStream, PrintStream)} (in-process, returns the exit code).
 */
@Command(name = "jvirt", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true, version = "jvirt " + JvirtCli.VERSION,
        sortOptions = false, usageHelpAutoWidth = false,
        description = "Client of jvirtd, the jvirt virtualization daemon (QEMU/KVM).",
        footerHeading = "%nExit codes:%n",
        footer = {
            "  0  success",
            "  1  other failure",
            "  2  usage error",
            "  3  not found (vm-not-found, operation-not-found, pool-not-found,",
            "     volume-not-found)",
            "  4  conflict (vm-exists, invalid-state, vm-busy, volume-exists, volume-in-use,",
            "     pool-exists)",
            "  5  jvirtd unreachable",
            "  6  timeout",
            "  7  invalid input (invalid-definition, invalid-name, invalid-argument,",
            "     disk-not-found, invalid-volume)",
            "  8  QEMU failed (qemu-failed)",
            "%nEnvironment: JVIRT_SOCKET sets the default --socket. See docs/cli.md."})
public final class JvirtCli implements Callable<Integer> {
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

    /** Output formats of {@code -o}. */
    public enum Output { table, json }

    @Option(names = "--socket", paramLabel = "PATH", scope = ScopeType.INHERIT,
            description = "jvirtd's Unix socket (default: $JVIRT_SOCKET, else " + ApiClient.DEFAULT_SOCKET + ").")
    String socket;

    @Option(names = "--url", paramLabel = "URL", scope = ScopeType.INHERIT,
            description = "Talk to jvirtd over TCP instead, e.g. http://127.0.0.1:8470.")
    String url;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", scope = ScopeType.INHERIT,
            description = "Output format: table (default) or json (the API's JSON).")
    Output output = Output.table;

    @Spec
    CommandSpec spec;

    InputStream in = System.in;
    PrintStream out = System.out;
    PrintStream err = System.err;
    Map<String, String> env = System.getenv();
    private ApiClient client;

    /** Every subcommand, in the order help lists them (see {@link #newSubcommand}). */
    static final List<String> SUBCOMMANDS = List.of("list", "define", "undefine", "start", "shutdown", "destroy",
            "suspend", "resume", "info", "console", "events", "snapshot", "blockcopy", "blockjob", "vol", "pool",
            "image", "net-define", "net-start", "net-destroy", "net-undefine", "net-list", "net-info", "net-autostart",
            "net-dhcp-leases", "help");

    /**
     * A new instance of subcommand {@code name} (or alias), or null. Subcommands are registered lazily: picocli
     * reflects over every registered command class when it starts, which costs a one-shot {@code jvirt list} more
     * than the call to the daemon, so only the invoked one is registered (all of them for help and errors).
     */
    static Object newSubcommand(String name) {
        return switch (name) {
            case "list" -> new ListCmd();
            case "define" -> new DefineCmd();
            case "undefine" -> new UndefineCmd();
            case "start" -> new StartCmd();
            case "shutdown" -> new ShutdownCmd();
            case "destroy" -> new DestroyCmd();
            case "suspend" -> new SuspendCmd();
            case "resume" -> new ResumeCmd();
            case "info", "dominfo" -> new InfoCmd();
            case "console" -> new ConsoleCmd();
            case "events" -> new EventsCmd();
            case "image" -> new ImageCommands();
            case "snapshot" -> new SnapshotCommand();
            case "blockcopy" -> new BlockCopyCommands.BlockCopyCmd();
            case "blockjob" -> new BlockCopyCommands.BlockJobCmd();
            case "vol" -> new StorageCommands.VolCmd();
            case "pool" -> new StorageCommands.PoolCmd();
            default -> NetworkCommands.newCommand(name);
        };
    }

    /** The subcommand word of {@code args} (skipping global options and their values), or null. */
    static String invokedSubcommand(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--socket", "--url", "-o", "--output" -> i++; // their value follows
                case "-h", "--help", "-V", "--version" -> {
                    return null;
                }
                default -> {
                    if (!a.startsWith("-")) {
                        return a;
                    }
                }
            }
        }
        return null;
    }

    /** Tests turn this off to check that both paths print the same. */
    static volatile boolean quickQueries = true;

    private static JvirtCli newCli(InputStream in, PrintStream out, PrintStream err) {
        JvirtCli cli = new JvirtCli();
        cli.in = in;
        cli.out = out;
        cli.err = err;
        return cli;
    }

    /**
     * Runs the one-shot queries scripts call most ({@code list}, {@code info VM}, with only {@code --socket},
     * {@code --url} and {@code -o}) without building picocli's command model, which takes most of such a call's
     * wall time (its classes are Java 5 bytecode, which the JVM's AOT/CDS cache cannot keep). Anything else,
     * including every malformed or unusual form, returns null and goes through picocli. Same commands, same
     * output, same exit codes.
     */
    static Integer runQuickQuery(JvirtCli cli, String[] args) {
        String command = null;
        String vm = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean hasValue = i + 1 < args.length;
            switch (a) {
                case "--socket" -> {
                    if (!hasValue || cli.socket != null || cli.url != null) return null;
                    cli.socket = args[++i];
                }
                case "--url" -> {
                    if (!hasValue || cli.socket != null || cli.url != null) return null;
                    cli.url = args[++i];
                }
                case "-o", "--output" -> {
                    if (!hasValue) return null;
                    switch (args[++i]) {
                        case "json" -> cli.output = Output.json;
                        case "table" -> cli.output = Output.table;
                        default -> {
                            return null;
                        }
                    }
                }
                default -> {
                    if (a.startsWith("-") || vm != null) return null;
                    if (command == null) command = a;
                    else vm = a;
                }
            }
        }
        Sub query;
        if ("list".equals(command) && vm == null) {
            query = new ListCmd();
        } else if (("info".equals(command) || "dominfo".equals(command)) && vm != null) {
            InfoCmd info = new InfoCmd();
            info.vm = vm;
            query = info;
        } else {
            return null;
        }
        query.cli = cli;
        try {
            return query.call();
        } catch (Exception e) {
            try {
                return cli.handle(e);
            } catch (Exception notHandled) {
                return null; // a usage error: let picocli report it
            }
        } finally {
            cli.out.flush();
            cli.err.flush();
            cli.closeClient();
        }
    }

    private static void registerSubcommands(CommandLine cl, String[] args) {
        String invoked = invokedSubcommand(args);
        Object only = invoked == null ? null : newSubcommand(invoked);
        if (only != null) {
            cl.addSubcommand(only);
            return;
        }
        for (String name : SUBCOMMANDS) {
            cl.addSubcommand(name.equals("help") ? new CommandLine.HelpCommand() : newSubcommand(name));
        }
    }

    public static void main(String[] args) {
        int code = run(args, System.in, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs {@code jvirt args} in-process (stdin is {@link System#in}) and returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** Runs {@code jvirt args} in-process with the given standard streams and returns the exit code. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        if (quickQueries) {
            Integer code = runQuickQuery(newCli(in, out, err), args);
            if (code != null) {
                return code;
            }
        }
        JvirtCli cli = newCli(in, out, err);
        CommandLine cl = new CommandLine(cli);
        registerSubcommands(cl, args);
        PrintWriter pwOut = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true);
        PrintWriter pwErr = new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        cl.setOut(pwOut);
        cl.setErr(pwErr);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> cli.handle(ex));
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            PrintWriter w = c.getErr();
            w.println("jvirt: error: " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, w);
            String name = c.getCommandSpec().qualifiedName();
            w.println("Try '" + name + " --help' for more information.");
            w.flush();
            return EXIT_USAGE;
        });
        try {
            return cl.execute(args);
        } finally {
            pwOut.flush();
            pwErr.flush();
            out.flush();
            err.flush();
            cli.closeClient();
        }
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(err);
        return EXIT_USAGE;
    }

    // ---------------------------------------------------------------------------------------------- plumbing

    synchronized ApiClient client() {
        if (client == null) {
            client = openClient();
        }
        return client;
    }

    /** A second connection to the daemon (e.g. an event stream beside requests); the caller closes it. */
    ApiClient extraClient() {
        return openClient();
    }

    private ApiClient openClient() {
        if (url != null && socket != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--socket and --url exclude each other");
        }
        if (url != null) {
            try {
                return ApiClient.url(url);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        String s = socket;
        if (s == null || s.isEmpty()) s = env.get("JVIRT_SOCKET");
        if (s == null || s.isEmpty()) s = ApiClient.DEFAULT_SOCKET;
        return ApiClient.unixSocket(Path.of(s));
    }

    synchronized void closeClient() {
        if (client != null) client.close();
    }

    boolean json() { return output == Output.json; }

    /** A local failure with its own exit code. */
    static final class CliException extends Exception {
        private static final long serialVersionUID = 1L;
        final int exitCode;

        CliException(int exitCode, String message) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    /** Maps an API error code (and, for unknown codes, the HTTP status) to the exit code. */
    public static int exitCodeFor(String code, int status) {
        switch (code == null ? "" : code) {
            case "vm-not-found": case "operation-not-found": case "pool-not-found": case "volume-not-found":
            case "no-block-job": case "image-not-found":
                return EXIT_NOT_FOUND;
            case "vm-exists": case "invalid-state": case "vm-busy": case "volume-exists": case "volume-in-use":
            case "pool-exists": case "destination-exists": case "guest-held":
                return EXIT_CONFLICT;
            case "timeout":
                return EXIT_TIMEOUT;
            case "invalid-definition": case "invalid-name": case "invalid-argument": case "disk-not-found":
            case "invalid-volume": case "bad-bundle":
                return EXIT_INVALID;
            case "qemu-failed":
                return EXIT_QEMU;
            case "not-found": case "method-not-allowed": case "internal": case "cancelled": case "definition-not-written":
                return EXIT_FAILURE;
            default:
                // A code this client does not know: go by the HTTP status class.
                switch (status) {
                    case 400: return EXIT_INVALID;
                    case 404: return EXIT_NOT_FOUND;
                    case 409: return EXIT_CONFLICT;
                    case 504: return EXIT_TIMEOUT;
                    default: return EXIT_FAILURE;
                }
        }
    }

    int handle(Exception ex) throws Exception {
        if (ex instanceof CommandLine.ParameterException pe) throw pe; // usage error, e.g. --socket with --url
        String message;
        int code;
        if (ex instanceof ApiException a) {
            message = a.getMessage();
            code = exitCodeFor(a.code(), a.status());
        } else if (ex instanceof CliException c) {
            message = c.getMessage();
            code = c.exitCode;
        } else if (ex instanceof DaemonUnreachableException) {
            message = ex.getMessage();
            code = EXIT_UNREACHABLE;
        } else if (ex instanceof SocketTimeoutException) {
            message = ex.getMessage();
            code = EXIT_TIMEOUT;
        } else if (ex instanceof Definitions.InvalidFileException) {
            message = ex.getMessage();
            code = EXIT_INVALID;
        } else if (ex instanceof IOException) {
            message = "talking to jvirtd at " + (client == null ? "?" : client.target()) + ": " + ex.getMessage();
            code = EXIT_FAILURE;
        } else {
            message = ex.toString();
            code = EXIT_FAILURE;
        }
        out.flush();
        err.println("jvirt: error: " + message);
        if (env.get("JVIRT_DEBUG") != null) ex.printStackTrace(err);
        err.flush();
        return code;
    }

    static String vmPath(String name) { return "/v1/vms/" + ApiClient.segment(name); }

    void printJson(JsonNode node) {
        out.println(Json.pretty(node));
        out.flush();
    }

    static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull() || v.isMissingNode()) return "-";
        String s = v.isValueNode() ? v.asText() : Json.compact(v);
        return s.isEmpty() ? "-" : s;
    }

    /** Prints rows as left-aligned columns separated by two spaces (last column not padded). */
    void printTable(List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] w = new int[cols];
        for (String[] r : rows) for (int i = 0; i < cols; i++) w[i] = Math.max(w[i], r[i].length());
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            for (int i = 0; i < cols; i++) {
                sb.append(r[i]);
                if (i < cols - 1) sb.append(" ".repeat(w[i] - r[i].length() + 2));
            }
            sb.append('\n');
        }
        out.print(sb);
        out.flush();
    }

    /**
     * Waits until {@code op} is finished (polling {@code /operations/{id}/wait}), then returns it if it succeeded
     * and throws its error otherwise.
     *
     * @param timeoutSeconds overall limit, or null for none
     */
    JsonNode awaitOperation(JsonNode op, Integer timeoutSeconds, String what) throws Exception {
        long deadline = timeoutSeconds == null ? Long.MAX_VALUE : System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        ApiClient c = client();
        while (op != null && "running".equals(op.path("status").asText())) {
            long leftMs = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : (deadline - System.nanoTime()) / 1_000_000;
            String id = op.path("id").asText();
            if (leftMs <= 0) {
                throw new CliException(EXIT_TIMEOUT, "timed out after " + timeoutSeconds + " s waiting for " + what
                        + " (operation " + id + " is still running)");
            }
            long waitS = Math.max(1, Math.min(60, (leftMs + 999) / 1000));
            Map<String, Object> q = new LinkedHashMap<>();
            q.put("timeout", waitS);
            c.setTimeoutMillis((waitS + 30) * 1000);
            try {
                op = c.get("/v1/operations/" + ApiClient.segment(id) + "/wait", q);
            } finally {
                c.setTimeoutMillis(0);
            }
        }
        if (op == null) throw new IOException("jvirtd answered no operation");
        String status = op.path("status").asText();
        if (status.equals("failure") || status.equals("cancelled")) {
            JsonNode e = op.get("error");
            if (e == null || !e.isObject()) {
                throw new ApiException(-1, status.equals("cancelled") ? "cancelled" : null,
                        what + " " + (status.equals("cancelled") ? "was cancelled" : "failed"), null);
            }
            throw ApiException.fromError(-1, e);
        }
        return op;
    }

    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        JvirtCli cli;

        @Spec
        CommandSpec spec;

        void usage(String message) {
            throw new CommandLine.ParameterException(spec.commandLine(), message);
        }

        void checkTimeout(Integer t) {
            if (t != null && t <= 0) usage("--timeout must be a positive number of seconds");
        }

        /** Prints {@code node} as JSON, or the message in table mode. */
        int done(JsonNode node, String message) {
            if (cli.json()) cli.printJson(node);
            else {
                cli.out.println(message);
                cli.out.flush();
            }
            return EXIT_OK;
        }
    }

    // ---------------------------------------------------------------------------------------------- commands

    @Command(name = "list", description = "List the defined VMs: NAME STATE REASON JOB (all VMs are listed).")
    static final class ListCmd extends Sub {
        @Option(names = {"--all", "-a"}, description = "Accepted for virsh habits; jvirt always lists all VMs.")
        boolean all;

        @Override
        public Integer call() throws Exception {
            JsonNode vms = cli.client().get("/v1/vms");
            if (vms == null || !vms.isArray()) throw new IOException("jvirtd answered no VM list");
            if (cli.json()) {
                cli.printJson(vms);
                return EXIT_OK;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "STATE", "REASON", "JOB"});
            for (JsonNode vm : vms) {
                JsonNode job = vm.get("job");
                rows.add(new String[] {text(vm, "name"), text(vm, "state"), text(vm, "reason"),
                    job == null || job.isNull() ? "-" : text(job, "name")});
            }
            cli.printTable(rows);
            return EXIT_OK;
        }
    }

    @Command(name = "define", description = "Define a VM from a YAML or JSON file ('-' reads stdin).")
    static final class DefineCmd extends Sub {
        @Parameters(paramLabel = "FILE", description = "Definition file: .yaml/.yml, .json, or sniffed from content.")
        String file;

        @Override
        public Integer call() throws Exception {
            byte[] content;
            String name = file;
            try {
                if (file.equals("-")) {
                    content = cli.in.readAllBytes();
                    name = "<stdin>";
                } else {
                    content = Files.readAllBytes(Path.of(file));
                }
            } catch (NoSuchFileException e) {
                throw new CliException(EXIT_INVALID, "cannot read " + file + ": no such file");
            } catch (IOException e) {
                throw new CliException(EXIT_INVALID, "cannot read " + file + ": " + e.getMessage());
            }
            JsonNode def = Definitions.parse(name, content);
            JsonNode vm = cli.client().post("/v1/vms", null, def);
            return done(vm, "VM " + text(vm, "name") + " defined from " + name);
        }
    }

    @Command(name = "undefine", description = "Remove a VM's definition (it must be shut off or crashed).")
    static final class UndefineCmd extends Sub {
        @Parameters(paramLabel = "VM")
        String vm;

        @Override
        public Integer call() throws Exception {
            JsonNode r = cli.client().delete(vmPath(vm));
            return done(r, "VM " + vm + " undefined");
        }
    }

    @Command(name = "start", description = "Boot a VM; waits until it runs unless --no-wait.")
    static final class StartCmd extends Sub {
        @Parameters(paramLabel = "VM")
        String vm;

        @Option(names = "--no-wait", description = "Return at once with the operation.")
        boolean noWait;

        @Option(names = "--timeout", paramLabel = "S", description = "Give up waiting after S seconds (exit 6).")
        Integer timeout;

        @Override
        public Integer call() throws Exception {
            checkTimeout(timeout);
            ApiClient c = cli.client();
            String path = vmPath(vm) + "/start";
            if (noWait) {
                JsonNode op = c.post(path, null, null);
                return done(op, "VM " + vm + " is starting (operation " + text(op, "id") + ")");
            }
            JsonNode op;
            if (timeout == null) {
                op = c.post(path, Map.of("wait", "true"), null);
            } else {
                op = c.post(path, null, null);
            }
            op = cli.awaitOperation(op, timeout, "VM " + vm + " to start");
            return done(op, "VM " + vm + " started");
        }
    }

    @Command(name = "shutdown", description = "Ask the guest to power off (ACPI) and wait until it has.")
    static final class ShutdownCmd extends Sub {
        @Parameters(paramLabel = "VM")
        String vm;

        @Option(names = "--timeout", paramLabel = "S",
                description = "Seconds the guest gets to power off (daemon default 60); then exit 6, VM keeps running.")
        Integer timeout;

        @Option(names = "--no-wait", description = "Return at once with the operation.")
        boolean noWait;

        @Override
        public Integer call() throws Exception {
            checkTimeout(timeout);
            ApiClient c = cli.client();
            String path = vmPath(vm) + "/shutdown";
            Map<String, Object> q = new LinkedHashMap<>();
            if (timeout != null) q.put("timeout", timeout);
            if (noWait) {
                JsonNode op = c.post(path, q, null);
                return done(op, "VM " + vm + " is shutting down (operation " + text(op, "id") + ")");
            }
            q.put("wait", "true");
            int limit = timeout == null ? 60 : timeout;
            JsonNode op;
            c.setTimeoutMillis((limit + 30) * 1000L);
            try {
                op = c.post(path, q, null);
            } finally {
                c.setTimeoutMillis(0);
            }
            op = cli.awaitOperation(op, limit + 10, "VM " + vm + " to shut down");
            return done(op, "VM " + vm + " shut down");
        }
    }

    /** A one-word action on a VM that answers at once: POST /v1/vms/{vm}/{action}. */
    abstract static class QuickVmAction extends Sub {
        private final String action;
        private final String pastTense;

        @Parameters(paramLabel = "VM")
        String vm;

        QuickVmAction(String action, String pastTense) {
            this.action = action;
            this.pastTense = pastTense;
        }

        @Override
        public Integer call() throws Exception {
            return done(cli.client().post(vmPath(vm) + "/" + action, null, null), "VM " + vm + " " + pastTense);
        }
    }

    @Command(name = "destroy", description = "Kill a VM's QEMU at once (like pulling the plug).")
    static final class DestroyCmd extends QuickVmAction {
        DestroyCmd() {
            super("destroy", "destroyed");
        }
    }

    @Command(name = "suspend", description = "Pause a VM's vCPUs.")
    static final class SuspendCmd extends QuickVmAction {
        SuspendCmd() {
            super("suspend", "suspended");
        }
    }

    @Command(name = "resume", description = "Resume a paused VM.")
    static final class ResumeCmd extends QuickVmAction {
        ResumeCmd() {
            super("resume", "resumed");
        }
    }

    @Command(name = "info", aliases = "dominfo", description = "Show a VM's state and configuration.")
    static final class InfoCmd extends Sub {
        @Parameters(paramLabel = "VM")
        String vm;

        @Override
        public Integer call() throws Exception {
            JsonNode v = cli.client().get(vmPath(vm));
            if (cli.json()) {
                cli.printJson(v);
                return EXIT_OK;
            }
            JsonNode def = v.path("definition");
            JsonNode rt = v.get("runtime");
            boolean running = rt != null && rt.isObject();
            JsonNode job = v.get("job");
            StringBuilder sb = new StringBuilder();
            line(sb, "Name", text(v, "name"));
            line(sb, "UUID", text(v, "uuid"));
            line(sb, "State", text(v, "state"));
            line(sb, "Reason", text(v, "reason"));
            line(sb, "Since", text(v, "stateSince"));
            line(sb, "vCPUs", text(def, "vcpus"));
            String mem = text(def, "memoryMiB");
            line(sb, "Memory", mem.equals("-") ? mem : mem + " MiB");
            line(sb, "Accel", running && !text(rt, "accel").equals("-") ? text(rt, "accel") : text(def, "accel"));
            line(sb, "PID", running ? text(rt, "pid") : "-");
            if (job == null || !job.isObject()) {
                line(sb, "Job", "-");
            } else {
                line(sb, "Job", text(job, "name") + " (since " + text(job, "since") + ", operation "
                        + text(job, "operation") + ")");
            }
            List<String> disks = new ArrayList<>();
            for (JsonNode d : def.path("disks")) {
                String extra = text(d, "format") + ", " + text(d, "bus")
                        + (d.path("readOnly").asBoolean(false) ? ", read-only" : "");
                disks.add(text(d, "name") + " " + text(d, "path") + " (" + extra + ")");
            }
            multi(sb, "Disks", disks);
            List<String> nics = new ArrayList<>();
            JsonNode nicViews = v.path("nics");
            for (JsonNode n : nicViews.isArray() ? nicViews : def.path("nics")) {
                nics.add(text(n, "name") + " " + text(n, "type") + " " + text(n, "model") + " " + text(n, "mac")
                        + NicLines.extra(n));
            }
            multi(sb, "NICs", nics);
            cli.out.print(sb);
            cli.out.flush();
            return EXIT_OK;
        }

        private static final int W = 10;

        private static void line(StringBuilder sb, String key, String value) {
            sb.append(key).append(':').append(" ".repeat(Math.max(1, W - key.length() - 1))).append(value).append('\n');
        }

        private static void multi(StringBuilder sb, String key, List<String> values) {
            if (values.isEmpty()) {
                line(sb, key, "-");
                return;
            }
            line(sb, key, values.get(0));
            for (int i = 1; i < values.size(); i++) sb.append(" ".repeat(W)).append(values.get(i)).append('\n');
        }
    }

    @Command(name = "console",
            description = {"Print a VM's serial console output so far; on a terminal or with --follow, keep streaming it "
                + "and type stdin into the console. Ctrl-] detaches."})
    static final class ConsoleCmd extends Sub {
        @Parameters(paramLabel = "VM")
        String vm;

        @Option(names = {"--follow", "-f"}, description = "Keep streaming new output (default on a terminal).")
        boolean follow;

        @Option(names = "--no-stdin", description = "Do not forward stdin to the console.")
        boolean noStdin;

        @Option(names = "--wait-for", paramLabel = "TEXT",
                description = "Follow the console (history included) until TEXT appears; print that line and exit 0.")
        String waitFor;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
                description = "With --wait-for: give up after this many seconds (exit 6). Default: ${DEFAULT-VALUE}.")
        long timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            if (waitFor != null) {
                if (waitFor.isEmpty() || timeoutSeconds <= 0) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                            "--wait-for needs a non-empty TEXT and --timeout a positive number of seconds");
                }
                return new ConsoleSession(cli, vm, true, true).waitFor(waitFor, timeoutSeconds);
            }
            return new ConsoleSession(cli, vm, follow, noStdin).run();
        }
    }

    @Command(name = "events", description = "Stream daemon events, one line each (TIME TYPE VM STATE/STATUS ...).")
    static final class EventsCmd extends Sub {
        @Option(names = "--vm", paramLabel = "NAME", description = "Only events of this VM.")
        String vm;

        @Override
        public Integer call() throws Exception {
            Map<String, Object> q = new LinkedHashMap<>();
            if (vm != null) q.put("vm", vm);
            PrintStream out = cli.out;
            boolean json = cli.json();
            if (!json) {
                out.println(eventLine("TIME", "TYPE", "VM", "STATE/STATUS", ""));
                out.flush();
            }
            cli.client().events("/v1/events", q, (type, data) -> {
                if (json) {
                    out.println(data);
                } else {
                    out.println(formatEvent(type, data));
                }
                out.flush();
                return true;
            });
            return EXIT_OK;
        }

        static String formatEvent(String type, String data) {
            JsonNode e;
            try {
                e = Json.parse(data);
            } catch (IOException ex) {
                e = null;
            }
            if (e == null || !e.isObject()) return eventLine("-", type, "-", "-", data);
            String t = e.path("type").isTextual() ? e.get("type").asText() : type;
            if (t.equals("lifecycle")) {
                StringBuilder more = new StringBuilder();
                if (!text(e, "previous").equals("-")) more.append("from=").append(text(e, "previous"));
                if (!text(e, "reason").equals("-")) {
                    more.append(more.length() > 0 ? " " : "").append("reason=").append(text(e, "reason"));
                }
                return eventLine(text(e, "time"), t, text(e, "vm"), text(e, "state"), more.toString());
            }
            if (t.equals("operation")) {
                JsonNode op = e.path("operation");
                StringBuilder more = new StringBuilder("op=").append(text(op, "kind")).append(" id=")
                        .append(text(op, "id"));
                if (!text(op, "progress").equals("-")) more.append(" progress=").append(text(op, "progress"));
                JsonNode err = op.get("error");
                if (err != null && err.isObject()) {
                    more.append(" error=").append(text(err, "code")).append(": ").append(text(err, "message"));
                }
                return eventLine(text(e, "time"), t, text(op, "vm"), text(op, "status"), more.toString());
            }
            return eventLine(text(e, "time"), t, text(e, "vm"), text(e, "state"), data);
        }

        static String eventLine(String time, String type, String vm, String state, String more) {
            StringBuilder sb = new StringBuilder(120);
            pad(sb, time, 24);
            pad(sb, type, 9);
            pad(sb, vm, 16);
            if (more.isEmpty()) sb.append(state);
            else pad(sb, state, 13).append(more);
            return sb.toString().stripTrailing();
        }

        private static StringBuilder pad(StringBuilder sb, String s, int w) {
            sb.append(s).append(' ');
            for (int i = s.length() + 1; i < w + 1; i++) sb.append(' ');
            return sb.append(' ');
        }
    }
}
