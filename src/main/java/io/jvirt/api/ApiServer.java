package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.admin.ClientRegistry;
import io.jvirt.vm.VmManager;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

/**
 * The daemon's HTTP server: Jetty on the read-write and read-only Unix sockets and on mutual TLS ({@link ApiConnectors}),
 * who may do what checked first ({@link AccessGuard}), handlers on virtual threads.
 */
public final class ApiServer implements AutoCloseable {
    private final Server server;
    private final ApiConnectors connectors;
    private final ClientRegistry clients;
    private final ServerLoad load;

    private ApiServer(Server server, ApiConnectors connectors, ClientRegistry clients, ServerLoad load) {
        this.server = server;
        this.connectors = connectors;
        this.clients = clients;
        this.load = load;
    }

    /** Everything the routes serve. */
    public record Services(VmManager vms, ObjectMapper mapper, Supplier<Map<String, Object>> hostFacts,
            io.jvirt.images.ImageCatalog imageCatalog, io.jvirt.images.ImageBuilder imageBuilder,
            io.jvirt.images.Bundles bundles, io.jvirt.storage.PoolManager pools, io.jvirt.storage.VolumeService volumes,
            io.jvirt.snapshot.SnapshotService snapshots, io.jvirt.blockcopy.BlockCopyService blockCopies,
            io.jvirt.network.NetworkService networks, io.jvirt.guest.GuestService guest,
            io.jvirt.stats.StatsService stats, io.jvirt.hotplug.HotplugService hotplug) {
        /** Without the image, storage, snapshot, block copy, network, guest and stats layers (tests that do not need them). */
        public Services(VmManager vms, ObjectMapper mapper, Supplier<Map<String, Object>> hostFacts) {
            this(vms, mapper, hostFacts, null, null, null, null, null, null, null, null, null, null, null);
        }
    }

    public static ApiServer start(Services services, Path socket) throws Exception {
        return start(services, ApiConnectors.Endpoints.socket(socket), new ClientLimits());
    }

    /** {@code limits}: read on every connection and request, so changing them later takes effect at once. */
    public static ApiServer start(Services services, ApiConnectors.Endpoints endpoints, ClientLimits limits)
            throws Exception {
        return start(services, endpoints, limits, new ClientRegistry(), null);
    }

    /**
     * {@code clients}: every connection of the API listeners is registered there (the admin API lists them);
     * {@code migrations} (or null): live migration's routes, and the peer routes for other jvirtd hosts.
     */
    public static ApiServer start(Services services, ApiConnectors.Endpoints endpoints, ClientLimits limits,
                                  ClientRegistry clients, io.jvirt.migration.MigrationService migrations) throws Exception {
        ObjectMapper mapper = services.mapper();
        EventHub hub = new EventHub(mapper);
        Operations operations = new Operations(op -> hub.publish("operation", op.getVm(),
                Map.of("type", "operation", "operation", op, "time", Instant.now())));
        services.vms().addListener(e -> hub.publish("lifecycle", e.vm(), e));

        Router router = new Router(mapper);
        ServerLoad load = new ServerLoad(limits);
        router.add("GET", "/v1/host", ex -> ex.json(200, load.withFacts(services.hostFacts().get())));
        new VmRoutes(services.vms(), operations, services.guest()).register(router);
        new ConsoleRoutes(services.vms()).register(router);
        new OperationRoutes(operations).register(router);
        new EventRoutes(hub).register(router);
        if (services.imageCatalog() != null) {
            new ImageRoutes(services.imageCatalog(), services.imageBuilder(), operations, services.vms()).register(router);
            new BundleRoutes(services.bundles(), operations, services.vms()).register(router);
        }
        if (services.pools() != null) {
            new StorageRoutes(services.pools(), services.volumes()).register(router);
        }
        if (services.snapshots() != null) {
            new SnapshotRoutes(services.snapshots(), operations).register(router);
        }
        if (services.blockCopies() != null) {
            services.blockCopies().addListener(e -> hub.publish("blockcopy", e.vm(), e));
            new BlockCopyRoutes(services.blockCopies(), operations).register(router);
        }
        if (services.networks() != null) {
            new NetworkRoutes(services.networks()).register(router);
        }
        if (migrations != null) {
            migrations.addListener(p -> hub.publish("migration", p.vm(), p));
            new MigrationRoutes(migrations, operations).register(router);
        }
        if (services.guest() != null) {
            new GuestRoutes(services.guest(), operations).register(router);
        }
        if (services.hotplug() != null) {
            new HotplugRoutes(services.hotplug(), services.volumes(), operations).register(router);
        }
        if (services.stats() != null) {
            // routes like any other: whichever listener the daemon has (Unix socket, TCP, TLS) serves /metrics
            new StatsRoutes(services.stats()).register(router);
            io.jvirt.stats.DaemonMetrics metrics = services.stats().daemon();
            router.observe(metrics::request);
            operations.lifecycle(new Operations.Lifecycle() {
                @Override
                public void started(String kind) {
                    metrics.operationStarted(kind);
                }

                @Override
                public void ended(String kind, String outcome) {
                    metrics.operationEnded(kind, outcome);
                }
            });
        }

        // Short requests only: long-lived ones leave the pool at once (ClientGate), so its bound of concurrent
        // tasks is never used up by streams.
        VirtualThreadPool pool = new VirtualThreadPool();
        pool.setName("jvirtd-http");
        Server server = new Server(pool);
        ConnectionGuard guard = new ConnectionGuard(limits, server.getScheduler());
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);

        ClientTracker tracker = new ClientTracker(clients, limits);
        ApiConnectors connectors = new ApiConnectors();
        connectors.add(server, endpoints, http, guard, tracker);
        ClientGate gate = new ClientGate(limits, guard, mapper, router, tracker);
        load.attach(guard, gate);
        server.setHandler(new AccessGuard(mapper, endpoints.allowedOrigins(), connectors.tlsHosts(), gate));
        server.setErrorHandler(new JsonErrorHandler(mapper));
        try {
            server.start();
            connectors.publish();
        } catch (Exception e) {
            connectors.discard();
            server.stop();
            throw e;
        }
        return new ApiServer(server, connectors, clients, load);
    }

    /** The clients of the API listeners (the admin API's view). */
    public ClientRegistry clients() {
        return clients;
    }

    /** Connections, streams, waits and queued jobs now, with the limits (as GET /v1/host's {@code server}). */
    public Map<String, Object> load() {
        return load.view();
    }

    /** The listeners, as the admin API names them ({@code unix:PATH}, {@code tls:HOST:PORT}). */
    public java.util.List<String> listeners() {
        java.util.List<String> out = new java.util.ArrayList<>();
        connectors.socketPaths().forEach(p -> out.add("unix:" + p));
        InetSocketAddress tls = tlsAddress();
        if (tls != null) {
            out.add("tls:" + ApiConnectors.hostPort(tls));
        }
        return out;
    }

    /** The address the TLS listener bound (the real port with port 0), or null without one. */
    public InetSocketAddress tlsAddress() {
        return connectors.tlsAddress();
    }

    public Path socket() {
        return connectors.socketPaths().get(0);
    }

    public void join() throws InterruptedException {
        server.join();
    }

    @Override
    public void close() throws Exception {
        server.stop();
        for (Path p : connectors.socketPaths()) {
            Files.deleteIfExists(p);
        }
    }
}
