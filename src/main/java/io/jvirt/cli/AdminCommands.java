package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;

/**
 * {@code jvirt admin ...}: the daemon itself, over its admin socket (virt-admin's verbs; docs/admin.md). The admin
 * socket is {@code --admin-socket}, else {@code $JVIRT_ADMIN_SOCKET}, else {@code jvirtd-admin.sock} beside the API
 * socket ({@code --socket} / {@code $JVIRT_SOCKET}), else {@value #DEFAULT_ADMIN_SOCKET}.
 */
@Command(name = "admin", description = "Administer the daemon over its admin socket: daemon-info, log-level, "
        + "log-outputs, clients, client-info, client-disconnect, limits, limits-set, allow-dir.",
        subcommands = {AdminCommands.DaemonInfo.class, AdminCommands.LogLevel.class, AdminCommands.LogOutputs.class,
            AdminCommands.Clients.class, AdminCommands.ClientInfo.class, AdminCommands.ClientDisconnect.class,
            AdminCommands.Limits.class, AdminCommands.LimitsSet.class, AdminCommands.AllowDir.class})
final class AdminCommands {
    static final String DEFAULT_ADMIN_SOCKET = "/run/jvirt/jvirtd-admin.sock";

    @Option(names = "--admin-socket", paramLabel = "PATH", scope = ScopeType.INHERIT,
            description = "jvirtd's admin socket (default: beside the API socket, jvirtd-admin.sock).")
    String adminSocket;

    /** A command on the admin socket: {@link #admin} makes one call and closes the connection. */
    abstract static class AdminCall extends CliCommand {
        JsonNode admin(String method, String path, Map<String, ?> query, JsonNode body) throws Exception {
            try (ApiClient c = new ApiClient(SocketConnector.unix(socketPath()))) {
                return c.call(method, path, query, body);
            }
        }

        private Path socketPath() {
            Object group = spec.parent() == null ? null : spec.parent().userObject();
            String s = group instanceof AdminCommands a ? a.adminSocket : null;
            Map<String, String> env = session().env;
            if (s == null || s.isEmpty()) s = env.get("JVIRT_ADMIN_SOCKET");
            if (s == null || s.isEmpty()) {
                String api = session().connection.socket;
                if (api == null || api.isEmpty()) api = env.get("JVIRT_SOCKET");
                if (api != null && !api.isEmpty() && Path.of(api).getParent() != null) {
                    return Path.of(api).resolveSibling("jvirtd-admin.sock");
                }
                s = DEFAULT_ADMIN_SOCKET;
            }
            return Path.of(s);
        }

        static Map<String, Object> persist(boolean persist) {
            return persist ? Map.of("persist", "true") : Map.of();
        }
    }

    @Command(name = "daemon-info", description = "Version, uptime, listeners, threads, heap, open streams, quarantined documents.")
    static final class DaemonInfo extends AdminCall {
        @Override
        JsonNode run() throws Exception {
            return admin("GET", "/v1/admin/daemon", null, null);
        }

        @Override
        void show(JsonNode d, Output out) {
            JsonNode heap = d.path("heap");
            List<String> listeners = new ArrayList<>();
            d.path("listeners").forEach(l -> listeners.add(l.asText()));
            Output.Block b = out.block(18).add("Daemon", text(d, "daemon") + " " + text(d, "version"))
                    .add("PID", text(d, "pid")).add("Started", text(d, "startedAt"))
                    .add("Uptime", text(d, "uptimeSeconds") + " s").add("Listeners", listeners)
                    .add("Threads", text(d, "threads"))
                    .add("Heap", Bytes.format(heap.path("usedBytes").asLong(), 1) + " used of "
                            + Bytes.format(heap.path("maxBytes").asLong(), 1))
                    .add("Clients", text(d, "clients")).add("Open streams", text(d, "openStreams"))
                    .add("VMs", text(d, "vms")).add("Quarantined", text(d, "quarantined"));
            List<String> q = new ArrayList<>();
            d.path("store").forEach(part -> part.path("quarantined").forEach(x -> q.add(text(x, "file") + " ("
                    + text(x, "reason") + ")")));
            if (!q.isEmpty()) b.add("Quarantine", q);
            b.print();
        }
    }

    @Command(name = "log-level", description = "Show the log levels, or set one: log-level [LOGGER] LEVEL "
            + "(TRACE, DEBUG, INFO, WARN, ERROR, OFF; inherit drops a logger's own level).")
    static final class LogLevel extends AdminCall {
        @Parameters(arity = "0..2", paramLabel = "[LOGGER] LEVEL")
        List<String> args = new ArrayList<>();

        @Option(names = "--persist", description = "Also keep it for the next start of the daemon.")
        boolean persist;

        @Override
        JsonNode run() throws Exception {
            if (args.isEmpty()) return admin("GET", "/v1/admin/log", null, null);
            ObjectNode body = Json.NODES.objectNode();
            if (args.size() == 2) body.put("logger", args.get(0));
            body.put("level", args.get(args.size() - 1));
            return admin("POST", "/v1/admin/log/level", persist(persist), body);
        }

        @Override
        void show(JsonNode log, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"LOGGER", "LEVEL"});
            log.path("levels").fields().forEachRemaining(e -> rows.add(new String[] {e.getKey(), e.getValue().asText()}));
            out.table(rows);
        }
    }

    @Command(name = "log-outputs", description = "Show where the log goes, or replace it: log-outputs OUTPUT... "
            + "(stderr, file:/absolute/path).")
    static final class LogOutputs extends AdminCall {
        @Parameters(arity = "0..*", paramLabel = "OUTPUT")
        List<String> outputs = new ArrayList<>();

        @Option(names = "--persist", description = "Also keep them for the next start of the daemon.")
        boolean persist;

        @Override
        JsonNode run() throws Exception {
            if (outputs.isEmpty()) return admin("GET", "/v1/admin/log", null, null);
            ObjectNode body = Json.NODES.objectNode();
            outputs.forEach(body.putArray("outputs")::add);
            return admin("POST", "/v1/admin/log/outputs", persist(persist), body);
        }

        @Override
        void show(JsonNode log, Output out) {
            log.path("outputs").forEach(o -> out.line(o.asText()));
        }
    }

    @Command(name = "clients", description = "The API's connected clients: id, transport, identity, role, since, streams.")
    static final class Clients extends AdminCall {
        @Override
        JsonNode run() throws Exception {
            return admin("GET", "/v1/admin/clients", null, null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ID", "TRANSPORT", "IDENTITY", "ROLE", "CONNECTED SINCE", "STREAMS"});
            answer.path("clients").forEach(c -> rows.add(new String[] {text(c, "id"), text(c, "transport"),
                text(c, "identity"), text(c, "role"), text(c, "connectedSince"), text(c, "streams")}));
            out.table(rows);
        }
    }

    @Command(name = "client-info", description = "One client: its transport, uid/gid/pid or certificate, role, streams.")
    static final class ClientInfo extends AdminCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        JsonNode run() throws Exception {
            return admin("GET", "/v1/admin/clients/" + ApiClient.segment(id), null, null);
        }

        @Override
        void show(JsonNode c, Output out) {
            Output.Block b = out.block(18);
            c.fields().forEachRemaining(e -> b.add(e.getKey(), e.getValue().isNull() ? "-"
                    : e.getValue().isValueNode() ? e.getValue().asText() : Json.compact(e.getValue())));
            b.print();
        }
    }

    @Command(name = "client-disconnect", description = "Close a client's connection (its streams end).")
    static final class ClientDisconnect extends AdminCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        JsonNode run() throws Exception {
            return admin("DELETE", "/v1/admin/clients/" + ApiClient.segment(id), null, null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            out.line("Client " + id + " (" + text(answer.path("disconnected"), "identity") + ") disconnected");
        }
    }

    @Command(name = "limits", description = "The client limits and what is in use now.")
    static final class Limits extends AdminCall {
        @Override
        JsonNode run() throws Exception {
            return admin("GET", "/v1/admin/limits", null, null);
        }

        @Override
        void show(JsonNode answer, Output out) {
            showLimits(answer, out);
        }
    }

    static void showLimits(JsonNode answer, Output out) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"LIMIT", "VALUE"});
        answer.path("limits").fields().forEachRemaining(e -> rows.add(new String[] {e.getKey(), e.getValue().asText()}));
        out.table(rows);
        Output.Block b = out.block(14);
        answer.path("current").fields().forEachRemaining(e -> b.add(e.getKey(), e.getValue().asText()));
        b.print();
    }

    @Command(name = "limits-set", description = "Change client limits at run time (each applies to the next "
            + "connection or request; nothing open is cut).")
    static final class LimitsSet extends AdminCall {
        @Option(names = {"--max-clients", "--max-connections"}, paramLabel = "N", description = "Open API connections.")
        Integer maxClients;

        @Option(names = {"--max-clients-per-identity", "--max-per-uid"}, paramLabel = "N",
                description = "Open connections of one Unix user or one TLS certificate.")
        Integer maxPerIdentity;

        @Option(names = "--max-streams", paramLabel = "N", description = "Event streams and console follows.")
        Integer maxStreams;

        @Option(names = "--max-waits", paramLabel = "N", description = "Requests waiting for an outcome.")
        Integer maxWaits;

        @Option(names = "--max-queued-jobs", paramLabel = "N", description = "Requests queued (?queue=S) for a busy VM.")
        Integer maxQueuedJobs;

        @Option(names = "--header-timeout-ms", paramLabel = "MS", description = "Time to send a request's headers.")
        Integer headerTimeoutMs;

        @Option(names = "--persist", description = "Also keep them for the next start of the daemon.")
        boolean persist;

        @Override
        JsonNode run() throws Exception {
            Map<String, Integer> set = new LinkedHashMap<>();
            if (maxClients != null) set.put("max-connections", maxClients);
            if (maxPerIdentity != null) set.put("max-clients-per-identity", maxPerIdentity);
            if (maxStreams != null) set.put("max-streams", maxStreams);
            if (maxWaits != null) set.put("max-waits", maxWaits);
            if (maxQueuedJobs != null) set.put("max-queued-jobs", maxQueuedJobs);
            if (headerTimeoutMs != null) set.put("header-timeout-ms", headerTimeoutMs);
            if (set.isEmpty()) throw usage("give at least one limit, e.g. --max-clients 100");
            ObjectNode body = Json.NODES.objectNode();
            set.forEach(body::put);
            return admin("POST", "/v1/admin/limits", persist(persist), body);
        }

        @Override
        void show(JsonNode answer, Output out) {
            showLimits(answer, out);
        }
    }

    @Command(name = "allow-dir", description = "Directories outside the pools that VM files may be in: "
            + "allow-dir list | add DIR | remove DIR.")
    static final class AllowDir extends AdminCall {
        @Parameters(index = "0", paramLabel = "list|add|remove")
        String action;

        @Parameters(index = "1", arity = "0..1", paramLabel = "DIR")
        String dir;

        @Option(names = "--persist", description = "Also keep the change for the next start of the daemon.")
        boolean persist;

        @Override
        JsonNode run() throws Exception {
            switch (action) {
                case "list" -> {
                    return admin("GET", "/v1/admin/allow-dirs", null, null);
                }
                case "add", "remove" -> {
                    if (dir == null) throw usage("allow-dir " + action + " needs a directory");
                    String abs = Path.of(dir).toAbsolutePath().normalize().toString();
                    if (action.equals("add")) {
                        return admin("POST", "/v1/admin/allow-dirs", persist(persist), Json.NODES.objectNode().put("path", abs));
                    }
                    Map<String, Object> q = new LinkedHashMap<>(persist(persist));
                    q.put("path", abs);
                    return admin("DELETE", "/v1/admin/allow-dirs", q, null);
                }
                default -> throw usage("allow-dir takes list, add DIR or remove DIR, not '" + action + "'");
            }
        }

        @Override
        void show(JsonNode answer, Output out) {
            JsonNode dirs = answer.path("allowDirs");
            if (dirs.isEmpty()) out.line("(no allowed directories)");
            dirs.forEach(d -> out.line(d.asText()));
        }
    }
}
