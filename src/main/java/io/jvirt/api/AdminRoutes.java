package io.jvirt.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.admin.AdminSettings;
import io.jvirt.admin.ClientRegistry;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's routes ({@code /v1/admin/...}, served only on the admin socket; docs/admin.md). A change applies at
 * once; with {@code ?persist=true} it is also written to the admin settings document, which the next start applies.
 */
final class AdminRoutes {
    private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);
    private final AdminServer.Context ctx;

    AdminRoutes(AdminServer.Context ctx) {
        this.ctx = ctx;
    }

    void register(Router r) {
        r.add("GET", "/v1/admin/daemon", ex -> ex.json(200, daemonInfo()));
        r.add("GET", "/v1/admin/log", ex -> ex.json(200, logView()));
        r.add("POST", "/v1/admin/log/level", this::setLevel);
        r.add("POST", "/v1/admin/log/outputs", this::setOutputs);
        r.add("GET", "/v1/admin/clients", ex -> ex.json(200, Map.of("clients",
                ctx.clients().list().stream().map(ClientRegistry.Client::summary).toList())));
        r.add("GET", "/v1/admin/clients/{id}", ex -> ex.json(200, client(ex.param("id")).details()));
        r.add("DELETE", "/v1/admin/clients/{id}", ex -> {
            ClientRegistry.Client c = client(ex.param("id"));
            Map<String, Object> was = c.summary();
            ctx.clients().disconnect(c.id());
            log.info("admin: client {} ({}) disconnected", c.id(), was.get("identity"));
            ex.json(200, Map.of("disconnected", was));
        });
        r.add("GET", "/v1/admin/limits", ex -> ex.json(200, limitsView()));
        r.add("POST", "/v1/admin/limits", this::setLimits);
        r.add("GET", "/v1/admin/allow-dirs", ex -> ex.json(200, allowDirsView()));
        r.add("POST", "/v1/admin/allow-dirs", this::addAllowDir);
        r.add("DELETE", "/v1/admin/allow-dirs", this::removeAllowDir);
    }

    private Map<String, Object> daemonInfo() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("daemon", "jvirtd");
        m.put("version", JvirtDaemon.VERSION);
        m.put("pid", ProcessHandle.current().pid());
        m.put("startedAt", ctx.started().toString());
        m.put("uptimeSeconds", Duration.between(ctx.started(), Instant.now()).toSeconds());
        List<String> listeners = new ArrayList<>(ctx.api().listeners());
        listeners.add("admin unix:" + ctx.adminSocket());
        m.put("listeners", listeners);
        m.put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        m.put("heap", Map.of("usedBytes", heap.getUsed(), "committedBytes", heap.getCommitted(), "maxBytes", heap.getMax()));
        Map<String, Object> load = ctx.api().load();
        m.put("clients", ctx.clients().count());
        m.put("connections", load.get("connections"));
        m.put("openStreams", load.get("streams"));
        m.put("waits", load.get("waits"));
        m.put("vms", ctx.vms().count());
        Map<String, Object> store = ctx.store().get();
        m.put("store", store);
        m.put("quarantined", quarantinedCount(store));
        return m;
    }

    @SuppressWarnings("unchecked")
    private static int quarantinedCount(Map<String, Object> store) {
        int n = 0;
        for (Object part : store.values()) {
            if (part instanceof Map<?, ?> p && p.get("quarantined") instanceof List<?> l) {
                n += l.size();
            }
        }
        return n;
    }

    private Map<String, Object> logView() {
        return Map.of("levels", ctx.log().levels(), "outputs", ctx.log().outputs());
    }

    private void setLevel(Exchange ex) throws Exception {
        LevelRequest body = ex.bodyAs(LevelRequest.class, ErrorCode.INVALID_ARGUMENT);
        String logger = body.logger();
        String level = required(body.level(), "level");
        invalidOnBadArgument(() -> ctx.log().setLevel(logger, level));
        log.info("admin: log level of {} set to {}", logger == null ? "root" : logger, level);
        if (ex.queryBool("persist")) {
            persist(ctx.settings().withLogLevel(logger, level));
        }
        ex.json(200, logView());
    }

    private void setOutputs(Exchange ex) throws Exception {
        List<String> outputs = ex.bodyAs(OutputsRequest.class, ErrorCode.INVALID_ARGUMENT).outputs();
        if (outputs == null || outputs.isEmpty() || outputs.contains(null)) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "give outputs: a list of stderr or file:/absolute/path");
        }
        invalidOnBadArgument(() -> ctx.log().setOutputs(outputs));
        log.info("admin: log outputs set to {}", outputs);
        if (ex.queryBool("persist")) {
            persist(ctx.settings().withLogOutputs(outputs));
        }
        ex.json(200, logView());
    }

    private Map<String, Object> limitsView() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("limits", ctx.limits().view());
        Map<String, Object> load = ctx.api().load();
        Map<String, Object> now = new LinkedHashMap<>();
        now.put("connections", load.get("connections"));
        now.put("streams", load.get("streams"));
        now.put("waits", load.get("waits"));
        now.put("queuedJobs", load.get("queuedJobs"));
        m.put("current", now);
        return m;
    }

    /** Every limit in the body is checked first; only then are they set, so a bad one changes nothing. */
    private void setLimits(Exchange ex) throws Exception {
        JsonNode body = ex.bodyAs(JsonNode.class, ErrorCode.INVALID_ARGUMENT);
        if (!body.isObject() || body.isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "give the limits to set, e.g. {\"max-connections\": 100};"
                    + " limits: " + ClientLimits.NAMES);
        }
        Map<String, Long> changed = new LinkedHashMap<>();
        ClientLimits trial = new ClientLimits();
        for (var it = body.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().canConvertToLong() || !e.getValue().isIntegralNumber()) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "limit " + e.getKey() + " must be a whole number",
                        Map.of("limit", e.getKey()));
            }
            long v = e.getValue().asLong();
            String name = invalidOnBadArgument(() -> trial.set(e.getKey(), v));
            changed.put(name, v);
        }
        changed.forEach((name, v) -> ctx.limits().set(name, v));
        log.info("admin: limits set: {}", changed);
        if (ex.queryBool("persist")) {
            persist(ctx.settings().withLimits(changed));
        }
        ex.json(200, limitsView());
    }

    private Map<String, Object> allowDirsView() {
        return Map.of("allowDirs", ctx.paths().allowedDirs().stream().map(Path::toString).toList());
    }

    private void addAllowDir(Exchange ex) throws Exception {
        String dir = required(ex.bodyAs(DirRequest.class, ErrorCode.INVALID_ARGUMENT).path(), "path");
        Path real = ctx.paths().addAllowedDir(absolute(dir));
        log.info("admin: allowed directory {} added", real);
        if (ex.queryBool("persist")) {
            persist(ctx.settings().withAllowDir(real.toString(), true));
        }
        ex.json(200, allowDirsView());
    }

    private void removeAllowDir(Exchange ex) throws Exception {
        String dir = ex.query("path").orElseThrow(() ->
                new JvirtException(ErrorCode.INVALID_ARGUMENT, "give the directory as ?path=/absolute/dir"));
        Path p = absolute(dir);
        if (!ctx.paths().removeAllowedDir(p)) {
            throw new JvirtException(ErrorCode.NOT_FOUND, dir + " is not an allowed directory", Map.of("path", dir));
        }
        log.info("admin: allowed directory {} removed", p);
        if (ex.queryBool("persist")) {
            AdminSettings s = ctx.settings().withAllowDir(p.toString(), false);
            try {
                s = s.withAllowDir(p.toRealPath().toString(), false);
            } catch (java.io.IOException gone) {
                // removed by the name it was given
            }
            persist(s);
        }
        ex.json(200, allowDirsView());
    }

    private void persist(AdminSettings s) {
        ctx.save(s);
    }

    private ClientRegistry.Client client(String id) {
        long n;
        try {
            n = Long.parseLong(id);
        } catch (NumberFormatException e) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "a client id is a number, got '" + id + "'");
        }
        return ctx.clients().get(n).orElseThrow(() -> new JvirtException(ErrorCode.NOT_FOUND, "no client " + id
                + " (jvirt admin clients lists them)", Map.of("client", id)));
    }

    private static Path absolute(String dir) {
        Path p = Path.of(dir);
        if (!p.isAbsolute()) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "an allowed directory is an absolute path, got " + dir);
        }
        return p.normalize();
    }

    record LevelRequest(String logger, String level) {
    }

    record OutputsRequest(List<String> outputs) {
    }

    record DirRequest(String path) {
    }

    private static String required(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "field '" + field + "' is required", Map.of("field", field));
        }
        return value;
    }

    private static <T> T invalidOnBadArgument(java.util.function.Supplier<T> change) {
        try {
            return change.get();
        } catch (IllegalArgumentException e) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, e.getMessage());
        }
    }

    private static void invalidOnBadArgument(Runnable change) {
        invalidOnBadArgument(() -> {
            change.run();
            return null;
        });
    }
}
