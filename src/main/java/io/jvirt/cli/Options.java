package io.jvirt.cli;

import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The options several commands share, as picocli mixins ({@code @Mixin Options.Wait wait}). */
final class Options {
    private Options() {
    }

    /**
     * {@code --socket} / {@code --connect tls://HOST:PORT} (or {@code $JVIRT_URL}) with {@code --tls-dir}: where
     * jvirtd listens (global). A local daemon is reached through its Unix socket, a remote one only over mutual TLS.
     */
    static final class Connection {
        @Option(names = "--socket", paramLabel = "PATH", scope = ScopeType.INHERIT,
                description = "jvirtd's Unix socket (default: $JVIRT_SOCKET, else " + ApiClient.DEFAULT_SOCKET + ").")
        String socket;

        @Option(names = "--connect", paramLabel = "tls://HOST[:PORT]", scope = ScopeType.INHERIT,
                description = "A remote jvirtd (jvirtd --listen tls://...; default port 16514), with this client's "
                    + "certificate from --tls-dir. Default: $JVIRT_URL.")
        String url;

        @Option(names = "--tls-dir", paramLabel = "DIR", scope = ScopeType.INHERIT,
                description = "ca.pem, client.pem, client-key.pem for --connect (default: $JVIRT_TLS_DIR, else "
                    + "~/.config/jvirt/tls; 'jvirt pki issue-client --out' writes one).")
        String tlsDir;

        Connector connector(Map<String, String> env) throws CliException {
            if (url != null && socket != null) throw CliException.usage("--socket and --connect exclude each other");
            String u = url;
            if (u == null && socket == null) u = env.get("JVIRT_URL");
            if (u != null && !u.isBlank()) {
                String dir = tlsDir != null ? tlsDir : env.get("JVIRT_TLS_DIR");
                try {
                    return TlsConnector.parse(u, dir == null || dir.isBlank() ? null : Path.of(dir));
                } catch (IllegalArgumentException e) {
                    throw CliException.usage(e.getMessage());
                }
            }
            String s = socket;
            if (s == null || s.isEmpty()) s = env.get("JVIRT_SOCKET");
            if (s == null || s.isEmpty()) s = ApiClient.DEFAULT_SOCKET;
            return SocketConnector.unix(Path.of(s));
        }
    }

    /** Output formats of {@code -o}. */
    enum Format { table, json }

    /** {@code -o table|json} (global). */
    static final class Output {
        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", scope = ScopeType.INHERIT,
                description = "Output format: table (default) or json (the API's JSON).")
        Format format = Format.table;
    }

    /**
     * {@code --no-wait} / {@code --timeout S} of a command that starts an operation: by default it waits for the
     * operation's end; {@code --timeout} gives up waiting after S seconds (exit 6, the operation keeps running).
     */
    static final class Wait {
        @Spec(Spec.Target.MIXEE)
        CommandSpec mixee;

        @Option(names = "--no-wait", description = "Return at once with the operation.")
        boolean noWait;

        @Option(names = "--timeout", paramLabel = "S",
                description = "Give up waiting after S seconds (exit 6; the operation keeps running).")
        Integer timeout;

        /** The timeout, checked: null (none) or positive. */
        Integer timeout() {
            return Options.positive(mixee, "--timeout", timeout);
        }
    }

    /** {@code --queue S}: if another job holds the VM, wait up to S seconds for it instead of failing at once. */
    static final class Queue {
        @Option(names = "--queue", paramLabel = "S",
                description = "If another job holds the VM, wait up to S seconds for it (default: fail at once, exit 4).")
        Integer seconds;

        /** Adds {@code queue=S} to a query when given. */
        Map<String, Object> addTo(Map<String, Object> query) {
            if (seconds != null) query.put("queue", seconds);
            return query;
        }
    }

    /** {@code --agent-timeout S} of the guest agent calls: how long the daemon waits for the agent (default 5 s). */
    static final class AgentTimeout {
        @Spec(Spec.Target.MIXEE)
        CommandSpec mixee;

        @Option(names = "--agent-timeout", paramLabel = "S",
                description = "Seconds the daemon waits for the guest agent's answer (default 5; then exit 6).")
        Double seconds;

        /** Adds {@code agentTimeout=S} to a query when given. */
        Map<String, Object> addTo(Map<String, Object> query) {
            if (seconds != null) {
                if (seconds <= 0) throw CliCommand.usageError(mixee, "--agent-timeout must be a positive number of seconds");
                query.put("agentTimeout", seconds);
            }
            return query;
        }
    }

    /** {@code --no-progress}: no progress bar on stderr (it is never drawn with {@code -o json} either). */
    static final class Progress {
        @Option(names = "--no-progress", description = "Do not draw the progress bar on stderr.")
        boolean off;
    }

    /** {@code --pool POOL} of the volume commands. */
    static final class Pool {
        @Option(names = "--pool", paramLabel = "POOL", defaultValue = "default",
                completionCandidates = Completion.PoolNames.class, description = "Pool (default: ${DEFAULT-VALUE}).")
        String name;

        String volumes() {
            return "/v1/pools/" + ApiClient.segment(name) + "/volumes";
        }

        String volume(String volume) {
            return volumes() + "/" + ApiClient.segment(volume);
        }
    }

    /** {@code value}, which must be null or a positive number of seconds, else a usage error of {@code spec}. */
    static Integer positive(CommandSpec spec, String option, Integer value) {
        if (value != null && value <= 0) throw CliCommand.usageError(spec, option + " must be a positive number of seconds");
        return value;
    }
}
