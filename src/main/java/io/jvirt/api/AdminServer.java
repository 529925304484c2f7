package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.admin.AdminSettings;
import io.jvirt.admin.ClientRegistry;
import io.jvirt.admin.LogControl;
import io.jvirt.confine.PathPolicy;
import io.jvirt.files.FileModes;
import io.jvirt.files.SocketFiles;
import io.jvirt.vm.VmManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.thread.VirtualThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API: a Jetty server of its own on {@code <run-dir>/jvirtd-admin.sock}, mode 0600 (root only), with
 * its own threads and none of the client limits or admission of the API listeners, so a daemon whose clients
 * used up every limit can still be inspected and fixed (docs/admin.md).
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private final Server server;
    private final Path socket;

    private AdminServer(Server server, Path socket) {
        this.server = server;
        this.socket = socket;
    }

    /** What the admin routes read and change. {@link #save} writes the settings a {@code --persist} changed. */
    public static final class Context {
        private final ApiServer api;
        private final ClientLimits limits;
        private final LogControl log;
        private final PathPolicy paths;
        private final VmManager vms;
        private final Supplier<Map<String, Object>> store;
        private final Path stateDir;
        private final ObjectMapper mapper;
        private final Instant started;
        private final Path adminSocket;
        private AdminSettings settings;

        public Context(ApiServer api, ClientLimits limits, LogControl log, PathPolicy paths, VmManager vms,
                       Supplier<Map<String, Object>> store, Path stateDir, ObjectMapper mapper, Instant started,
                       Path adminSocket, AdminSettings settings) {
            this.api = api;
            this.limits = limits;
            this.log = log;
            this.paths = paths;
            this.vms = vms;
            this.store = store;
            this.stateDir = stateDir;
            this.mapper = mapper;
            this.started = started;
            this.adminSocket = adminSocket;
            this.settings = settings;
        }

        ApiServer api() {
            return api;
        }

        ClientRegistry clients() {
            return api.clients();
        }

        ClientLimits limits() {
            return limits;
        }

        LogControl log() {
            return log;
        }

        PathPolicy paths() {
            return paths;
        }

        VmManager vms() {
            return vms;
        }

        Supplier<Map<String, Object>> store() {
            return store;
        }

        Instant started() {
            return started;
        }

        Path adminSocket() {
            return adminSocket;
        }

        synchronized AdminSettings settings() {
            return settings;
        }

        /** Writes the settings durably, then keeps them as the base of the next --persist. */
        synchronized void save(AdminSettings s) {
            s.save(stateDir, mapper);
            settings = s;
        }
    }

    public static AdminServer start(Context ctx, ObjectMapper mapper) throws Exception {
        Router router = new Router(mapper);
        new AdminRoutes(ctx).register(router);
        VirtualThreadPool pool = new VirtualThreadPool();
        pool.setName("jvirtd-admin");
        Server server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        Path socket = ctx.adminSocket();
        ApiConnectors.prepareSocketPath(socket);
        // bound in a 0700 staging directory, then renamed into place with mode 0600: never reachable by others
        Path staged = SocketFiles.stage(socket);
        UnixDomainServerConnector unix = new UnixDomainServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        unix.setUnixDomainPath(staged);
        unix.setIdleTimeout(300_000);
        server.addConnector(unix);
        server.setHandler(router);
        server.setErrorHandler(new JsonErrorHandler(mapper));
        server.start();
        SocketFiles.publish(staged, socket, FileModes.PRIVATE_FILE, null);
        log.info("admin API on {}", socket);
        return new AdminServer(server, socket);
    }

    /**
     * Applies what earlier {@code --persist} changes wrote (after the flags: a persisted limit wins over its flag);
     * a value that no longer applies (a directory gone) is logged and skipped. Returns the settings.
     */
    public static AdminSettings applyPersisted(Path stateDir, ObjectMapper mapper, ClientLimits limits, LogControl logs,
                                               PathPolicy paths) {
        AdminSettings s = AdminSettings.load(stateDir, mapper);
        s.limits().forEach((name, v) -> skipOnError("limit " + name, () -> limits.set(name, v)));
        s.logLevels().forEach((logger, level) -> skipOnError("log level of " + logger, () -> logs.setLevel(logger, level)));
        if (s.logOutputs() != null) {
            skipOnError("log outputs", () -> logs.setOutputs(s.logOutputs()));
        }
        s.allowDirs().forEach(d -> skipOnError("allowed directory " + d, () -> paths.addAllowedDir(Path.of(d))));
        if (!s.equals(AdminSettings.empty())) {
            log.info("admin settings applied from {}", stateDir.resolve(AdminSettings.FILE));
        }
        return s;
    }

    private static void skipOnError(String what, Runnable apply) {
        try {
            apply.run();
        } catch (RuntimeException e) {
            log.warn("persisted {} not applied: {}", what, e.getMessage());
        }
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() throws Exception {
        server.stop();
        Files.deleteIfExists(socket);
    }
}
