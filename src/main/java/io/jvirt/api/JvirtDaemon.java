package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.qemu.AccelProbe;
import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.QemuBinaries;
import io.jvirt.qemu.monitor.CapabilityCache;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.VmManager;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * jvirtd: owns the VMs of this host. On start it opens its store, reconnects to every QEMU a previous instance
 * left running, and serves the API. Stopping the daemon leaves the VMs running, as libvirtd does.
 */
@Command(name = "jvirtd", mixinStandardHelpOptions = true, version = "jvirtd " + JvirtDaemon.VERSION,
        description = "The jvirt daemon: manages QEMU/KVM virtual machines and serves the jvirt API.")
public final class JvirtDaemon implements Callable<Integer> {
    static final String VERSION = "0.1.0";
    private static final Logger log = LoggerFactory.getLogger(JvirtDaemon.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--state-dir", description = "Persistent state (definitions, logs). Default: ${DEFAULT-VALUE}",
            defaultValue = "/var/lib/jvirt")
    Path stateDir;

    @Option(names = "--run-dir", description = "Runtime files (API and QEMU sockets). Default: ${DEFAULT-VALUE}",
            defaultValue = "/run/jvirt")
    Path runDir;

    @Option(names = "--socket", description = "API Unix socket. Default: <run-dir>/jvirtd.sock")
    Path socket;

    @Option(names = "--admin-socket", description = "Admin API Unix socket (mode 0600, no client limits). "
            + "Default: <run-dir>/jvirtd-admin.sock")
    Path adminSocket;

    @CommandLine.Mixin
    TrustOptions trust;

    @Option(names = "--accel", defaultValue = "auto",
            description = "Default accelerator: auto (KVM if it really runs a guest here, else TCG), kvm or tcg.")
    String accel;

    @Option(names = "--emulator", defaultValue = "qemu-system-x86_64", description = "Default QEMU binary.")
    String emulator;

    @Option(names = "--probe-kernel", description = "Kernel booted once to check that KVM works (default: the tiny guest if built).")
    Path probeKernel;

    @Option(names = "--probe-initrd", description = "Initrd for the KVM probe.")
    Path probeInitrd;

    @Option(names = "--probe-cache", description = "Where the KVM probe verdict is cached. Default: <state-dir>/accel-probe.json")
    Path probeCache;

    @Option(names = "--image-source", paramLabel = "[NAME=]URI,KEYFILE[,FINGERPRINT]",
            description = "A template repository: its signed index (index.asc, or index with index.sig) and the public "
                + "key trusted to sign it. Repeatable; adds to <state-dir>/image-sources.json and <state-dir>/repos.d/*.conf.")
    java.util.List<String> imageSources = new java.util.ArrayList<>();

    @Option(names = "--image-dir", description = "Where built template volumes go. Default: the default pool, <state-dir>/pools/default")
    Path imageDir;

    @Option(names = "--no-default-network", description = "Do not create the 'default' nat network on the first start "
            + "(tests and hosts whose network jvirt must not touch).")
    boolean noDefaultNetwork;

    @Option(names = "--max-connections", paramLabel = "N", description = "Open API connections at most (one more gets "
            + "503 limit-reached). Default: " + ClientLimits.DEFAULT_MAX_CONNECTIONS)
    int maxConnections = ClientLimits.DEFAULT_MAX_CONNECTIONS;

    @Option(names = "--max-streams", paramLabel = "N", description = "Open event streams and console follows at most. "
            + "Default: " + ClientLimits.DEFAULT_MAX_STREAMS)
    int maxStreams = ClientLimits.DEFAULT_MAX_STREAMS;

    @Option(names = "--max-waits", paramLabel = "N", description = "Requests waiting for an outcome (?wait=true, "
            + "operation waits, ?queue=S) at most. Default: " + ClientLimits.DEFAULT_MAX_WAITS)
    int maxWaits = ClientLimits.DEFAULT_MAX_WAITS;

    @Option(names = "--header-timeout", paramLabel = "S", description = "Seconds a connection gets to send a request's "
            + "headers (from opening or from the previous response); then it is closed. Default: 10")
    double headerTimeout = ClientLimits.DEFAULT_HEADER_TIMEOUT.toMillis() / 1000.0;

    @Option(names = "--console-log-size", paramLabel = "BYTES", description = "A VM's console.log is rotated to "
            + "console.log.1 at this size (K, M, G suffixes). Default: 2M")
    String consoleLogSize = "2M";

    @Option(names = "--console-follow-buffer", paramLabel = "BYTES", description = "Live console output kept for "
            + "the followers of one console; a viewer further behind loses output and is told so. Default: 256K")
    String consoleFollowBuffer = "256K";

    @Option(names = "--console-input-timeout", paramLabel = "S", description = "Seconds console input may wait for "
            + "the guest to take it (a paused guest takes none); then the request fails with timeout. Default: 5")
    double consoleInputTimeout = io.jvirt.qemu.ConsolePolicy.DEFAULT_INPUT_TIMEOUT.toSeconds();

    @Option(names = "--migration-peer-timeout", paramLabel = "S", description = "A migration's peer daemon that "
            + "stays silent this long is lost and the migration cancelled on both sides. Default: 5")
    double migrationPeerTimeout = 5;

    public static void main(String[] args) {
        int code = new CommandLine(new JvirtDaemon()).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        ClientLimits limits = limitsFromFlags();
        ApiConnectors.Endpoints endpoints = endpointsFromFlags();
        ObjectMapper mapper = Json.mapper();
        java.time.Instant started = java.time.Instant.now();
        io.jvirt.admin.LogControl logs = new io.jvirt.admin.LogControl();
        // The --allow-dir directories, changed at run time by `jvirt admin allow-dir`; the confinement's path policy
        // asks this instance on every check
        io.jvirt.confine.PathPolicy paths = allowedDirsFromFlags();
        io.jvirt.admin.AdminSettings persisted = AdminServer.applyPersisted(stateDir, mapper, limits, logs, paths);
        Path emulatorPath = QemuBinaries.locate(emulator).orElseThrow(() ->
                new IllegalStateException("QEMU binary '" + emulator + "' not found; install qemu-system-x86"));
        AccelProbe.Verdict verdict = chooseAccel(emulatorPath);
        log.info("default accelerator: {} ({})", verdict.accel().qemuName(), verdict.why());

        DocumentStore store = DocumentStore.open(stateDir, mapper);
        VmManager vms = new VmManager(new VmManager.Config(runDir.resolve("vms"), emulatorPath.toString(),
                verdict.accel(), Duration.ofSeconds(30), new CapabilityCache(stateDir.resolve("qemu-capabilities"))), store);
        // registers its recoveries, so it must exist before startRecovery
        io.jvirt.guest.GuestService guest = new io.jvirt.guest.GuestService(vms);
        io.jvirt.stats.StatsService stats = new io.jvirt.stats.StatsService(vms, VERSION);
        io.jvirt.snapshot.SnapshotService snapshots = io.jvirt.snapshot.SnapshotService.install(vms, store, guest);
        io.jvirt.blockcopy.BlockCopyService blockCopies = new io.jvirt.blockcopy.BlockCopyService(vms, store,
                new io.jvirt.storage.QemuImg());
        io.jvirt.network.NetworkService networks = new io.jvirt.network.NetworkService(stateDir, runDir, mapper, vms::definitions);
        io.jvirt.hotplug.HotplugService hotplug = new io.jvirt.hotplug.HotplugService(vms, vm -> {
            try {
                return java.util.Optional.of(guest.resources(vm, Duration.ofSeconds(2)));
            } catch (RuntimeException e) {
                return java.util.Optional.empty(); // no agent answer: the view says "unknown"
            }
        });
        io.jvirt.storage.PoolManager pools = new io.jvirt.storage.PoolManager(stateDir);
        io.jvirt.confine.VmConfinement confinement = confinementFromFlags(pools, emulatorPath, paths);
        vms.setConfinement(confinement);
        // a VM's taps are owned by the uid its QEMU runs as
        vms.setNicPlumbing(new io.jvirt.network.TapPlumbing(networks, store, vm -> confinement.uid(vm).orElse(0)));
        // VMs are reconciled in parallel, each holding its slot (vm-busy "recovery"), while the API already serves
        java.util.concurrent.CompletableFuture<Void> recovered = vms.startRecovery();
        io.jvirt.migration.MigrationService migrations = new io.jvirt.migration.MigrationService(vms, store,
                Files.isRegularFile(trust.tlsDir.resolve("server.pem")) ? new io.jvirt.tls.TlsDir(trust.tlsDir) : null, mapper,
                pools.get(io.jvirt.storage.PoolManager.DEFAULT_POOL).path(),
                Duration.ofMillis((long) (migrationPeerTimeout * 1000)));
        migrations.setLiveDefinitions(hotplug::liveDefinition); // the destination gets the plugged devices too
        // after the VMs are loaded: the DHCP hosts file names every defined VM
        io.jvirt.network.NetworkRecovery.recoverAll(networks, !noDefaultNetwork);
        recovered.thenRun(() -> {
            migrations.recoverAll(); // the records decide what the adopted QEMUs of a migration do
            hotplug.recoverAll(); // QEMU is the authority on what is plugged: after the QEMUs are adopted
            blockCopies.recoverAll(); // needs the adopted QEMUs
            log.info("recovery done: {} VM(s) reconciled in {} ms", vms.count(), (System.nanoTime() - t0) / 1_000_000);
            System.out.println("jvirtd recovered");
            System.out.flush();
        });

        QemuBinaries binaries = new QemuBinaries();
        // asked in the background: running `qemu -version` is not on the restart's critical path
        java.util.concurrent.CompletableFuture<String> qemuVersion = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> binaries.version(emulatorPath), r -> Thread.ofVirtual().start(r));
        String hostname = hostname();
        io.jvirt.images.ImageSources.Loaded loadedSources = io.jvirt.images.ImageSources.loadAll(stateDir, imageSources, mapper);
        for (io.jvirt.images.ReposD.Problem p : loadedSources.problems()) {
            log.warn("image sources: {}", p);
        }
        io.jvirt.images.ImageCatalog imageCatalog = new io.jvirt.images.ImageCatalog(loadedSources,
                new io.jvirt.images.GpgVerifier());
        io.jvirt.images.ImageBuilder imageBuilder = new io.jvirt.images.ImageBuilder(imageCatalog,
                new io.jvirt.images.TemplateCache(stateDir.resolve("image-cache")), new io.jvirt.storage.QemuImg(),
                // Built templates are volumes of the default pool (one volume layer, not two) unless told otherwise.
                imageDir != null ? imageDir : pools.get(io.jvirt.storage.PoolManager.DEFAULT_POOL).path(),
                io.jvirt.images.VirtCustomizer.find(verdict.accel() == Accelerator.TCG));
        io.jvirt.images.Bundles bundles = new io.jvirt.images.Bundles(stateDir.resolve("bundles"),
                imageBuilder.outputDir(), new io.jvirt.storage.QemuImg(), verdict.accel().qemuName(), mapper);
        int leftovers = imageBuilder.removeLeftovers();
        if (leftovers > 0) {
            log.info("removed {} part file(s) of image builds interrupted by a crash", leftovers);
        }
        ApiServer.Services services = new ApiServer.Services(vms, mapper, () -> {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("daemon", "jvirtd");
            facts.put("version", VERSION);
            facts.put("hostname", hostname);
            facts.put("qemuVersion", qemuVersion.join());
            facts.put("emulator", emulatorPath.toString());
            facts.put("accel", verdict.accel().qemuName());
            facts.put("accelReason", verdict.why());
            facts.put("vms", vms.count());
            facts.put("pid", ProcessHandle.current().pid());
            facts.put("store", Map.of("vms", vms.storeReport(), "networks", networks.storeReport()));
            facts.put("confinement", confinement.describe());
            return facts;
        }, imageCatalog, imageBuilder, bundles, pools,
                new io.jvirt.storage.VolumeService(pools, new io.jvirt.storage.QemuImg(), vms::definitions), snapshots, blockCopies,
                networks, guest, stats, hotplug);
        awaitRecoveryWithinBudget(vms, recovered);
        ApiServer server = ApiServer.start(services, endpoints, limits, new io.jvirt.admin.ClientRegistry(), migrations);
        AdminServer admin = AdminServer.start(new AdminServer.Context(server, limits, logs, paths, vms,
                () -> Map.of("vms", vms.storeReport(), "networks", networks.storeReport()), stateDir, mapper, started,
                adminSocket != null ? adminSocket : runDir.resolve("jvirtd-admin.sock"), persisted), mapper);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                admin.close();
                server.close();
                store.close();
            } catch (Exception e) {
                // exiting anyway
            }
        }, "jvirtd-shutdown"));
        Path apiSocket = endpoints.socket();
        InetSocketAddress bound = server.tlsAddress();
        String tls = bound == null ? "" : " tls=" + ApiConnectors.hostPort(bound);
        log.info("jvirtd {} ready on {}{}{} with {} VM(s) in {} ms", VERSION, apiSocket,
                endpoints.roSocket() == null ? "" : " (read-only " + endpoints.roSocket() + ")",
                bound == null ? "" : " and tls://" + ApiConnectors.hostPort(bound) + " (client certificates from "
                        + endpoints.tls().tlsDir() + ")", vms.count(), (System.nanoTime() - t0) / 1_000_000);
        System.out.println("jvirtd ready " + apiSocket + tls);
        System.out.flush();
        server.join();
        return 0;
    }

    /**
     * Waits for the VMs' reconciliation only as long as the restart-time budget allows (1 s from the JVM's start
     * plus 20 ms per running VM, less 350 ms for what follows: the listeners, the launcher): most restarts then serve VMs whose state is
     * already reconciled, and slow ones (a stopped QEMU, a busy host) never hold the API back; they answer
     * {@code vm-busy} ("recovery") until done.
     */
    private static void awaitRecoveryWithinBudget(VmManager vms, java.util.concurrent.CompletableFuture<Void> recovered) {
        long running = vms.liveAll().stream().filter(v -> v.state().isActive()).count();
        long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        long budget = jvmStart + 1000 + 20 * running - 350 - System.currentTimeMillis();
        try {
            recovered.get(Math.max(0, budget), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            log.info("serving the API while VMs are still being reconciled (they answer vm-busy \"recovery\")");
        } catch (java.util.concurrent.ExecutionException e) {
            log.warn("recovery failed: {}", e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The client limits, and the console policy set; a bad value is a usage error before anything starts. */
    private ClientLimits limitsFromFlags() {
        try {
            io.jvirt.qemu.ConsolePolicy.global().setLogBytes(io.jvirt.storage.Sizes.parse(consoleLogSize))
                    .setFollowBuffer(io.jvirt.storage.Sizes.parse(consoleFollowBuffer))
                    .setInputTimeout(Duration.ofMillis((long) (consoleInputTimeout * 1000)));
            return new ClientLimits().setMaxConnections(maxConnections).setMaxStreams(maxStreams).setMaxWaits(maxWaits)
                    .setHeaderTimeout(Duration.ofMillis((long) (headerTimeout * 1000)));
        } catch (RuntimeException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private io.jvirt.confine.PathPolicy allowedDirsFromFlags() {
        try {
            return trust.allowedDirs(stateDir, runDir);
        } catch (IllegalArgumentException | io.jvirt.error.JvirtException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private io.jvirt.confine.VmConfinement confinementFromFlags(io.jvirt.storage.PoolManager pools, Path emulatorPath,
            io.jvirt.confine.PathPolicy allowed) {
        io.jvirt.confine.VmConfinement c;
        try {
            c = trust.confinement(stateDir, runDir, pools, emulatorPath, allowed);
        } catch (IllegalArgumentException | io.jvirt.error.JvirtException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (c.probe().mode() == io.jvirt.confine.ConfinementProbe.Mode.ROOT) {
            log.warn("QEMU {}", c.summary());
        } else {
            log.info("{}", c.summary());
        }
        return c;
    }

    private ApiConnectors.Endpoints endpointsFromFlags() {
        try {
            return trust.endpoints(socket != null ? socket : runDir.resolve("jvirtd.sock"), runDir);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private AccelProbe.Verdict chooseAccel(Path emulatorPath) {
        if (!"auto".equals(accel)) {
            return new AccelProbe.Verdict(Accelerator.parse(accel), "set by --accel");
        }
        Path kernel = probeKernel;
        Path initrd = probeInitrd;
        if (kernel == null) {
            for (Path dir : guestDirs()) {
                if (Files.isRegularFile(dir.resolve("vmlinux")) && Files.isRegularFile(dir.resolve("initrd.img"))) {
                    kernel = dir.resolve("vmlinux");
                    initrd = dir.resolve("initrd.img");
                    break;
                }
            }
        }
        Path cache = probeCache != null ? probeCache : stateDir.resolve("accel-probe.json");
        return AccelProbe.decide(new AccelProbe.Probe(emulatorPath, kernel, initrd, AccelProbe.DEFAULT_READY_MARKER, cache));
    }

    private java.util.List<Path> guestDirs() {
        java.util.List<Path> dirs = new java.util.ArrayList<>();
        String env = System.getenv("JVIRT_GUEST_DIR");
        if (env != null) {
            dirs.add(Path.of(env));
        }
        dirs.add(stateDir.resolve("guest"));
        dirs.add(Path.of(System.getProperty("user.home"), ".cache", "jvirt", "guest"));
        return dirs;
    }

    private static String hostname() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }
}
