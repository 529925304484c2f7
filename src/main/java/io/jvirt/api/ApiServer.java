package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

/** The daemon's HTTP server: Jetty on a Unix socket (mode 0660) and optionally on TCP, handlers on virtual threads. */
public final class ApiServer implements AutoCloseable {
    private final Server server;
    private final Path socket;

    private ApiServer(Server server, Path socket) {
        this.server = server;
        this.socket = socket;
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

    public static ApiServer start(Services services, Path socket, InetSocketAddress tcp) throws Exception {
        return start(services, socket, tcp, new ClientLimits());
    }

    /** {@code limits}: read on every connection and request, so changing them later takes effect at once. */
    public static ApiServer start(Services services, Path socket, InetSocketAddress tcp, ClientLimits limits)
            throws Exception {
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
        if (services.guest() != null) {
            new GuestRoutes(services.guest(), operations).register(router);
        }
        if (services.hotplug() != null) {
            new HotplugRoutes(services.hotplug(), operations).register(router);
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

        prepareSocketPath(socket);
        UnixDomainServerConnector unix = new UnixDomainServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        unix.setUnixDomainPath(socket);
        unix.setIdleTimeout(300_000);
        unix.addBean(guard);
        server.addConnector(unix);
        if (tcp != null) {
            ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
            connector.setHost(tcp.getHostString());
            connector.setPort(tcp.getPort());
            connector.setIdleTimeout(300_000);
            connector.addBean(guard);
            server.addConnector(connector);
        }
        ClientGate gate = new ClientGate(limits, guard, mapper, router);
        load.attach(guard, gate);
        server.setHandler(gate);
        server.setErrorHandler(new JsonErrorHandler(mapper));
        server.start();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        return new ApiServer(server, socket);
    }

    /** A socket file left by a dead daemon is removed; one that still answers means another daemon is running. */
    private static void prepareSocketPath(Path socket) throws IOException {
        Files.createDirectories(socket.toAbsolutePath().getParent());
        if (!Files.exists(socket)) {
            return;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            throw new IOException("another jvirtd is already listening on " + socket);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another jvirtd")) {
                throw e;
            }
            Files.deleteIfExists(socket);
        }
    }

    /** The TCP port actually bound (useful with port 0), or -1 without TCP. */
    public int tcpPort() {
        for (var c : server.getConnectors()) {
            if (c instanceof ServerConnector sc) {
                return sc.getLocalPort();
            }
        }
        return -1;
    }

    public Path socket() {
        return socket;
    }

    public void join() throws InterruptedException {
        server.join();
    }

    @Override
    public void close() throws Exception {
        server.stop();
        Files.deleteIfExists(socket);
    }
}
