package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The typed monitor of one QEMU: every QMP command jvirt sends is one small method here or in a command group
 * ({@link #block()}, {@link #jobs()}, {@link #migration()},
 * {@link #stats()}), every reply a record, every event a
 * {@link MonitorEvent}. Nothing above this package names a QMP command or reads a reply by its JSON path. Failures
 * are {@link MonitorException}s ({@link MonitorClosedException} once QEMU is gone).
 *
 * <p>Thread-safe, like the protocol client below it: any number of threads may have commands in flight. Event
 * handlers run on the connection's event thread, in order; they must not block on a command's answer.
 */
public final class Monitor {
    private static final Logger log = LoggerFactory.getLogger(Monitor.class);
    /** Replies use QEMU's kebab-case names; fields this build does not read are ignored (QEMU adds some often). */
    private static final ObjectMapper REPLIES = io.jvirt.qmp.QmpJson.mapper().copy()
            .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_USING_DEFAULT_VALUE, true);

    private final QmpClient qmp;
    private final String binary;
    private final CapabilityCache capabilityCache;
    private final BlockCommands block = new BlockCommands(this);
    private final JobCommands jobs = new JobCommands(this);
    private final MigrationCommands migration = new MigrationCommands(this);
    private final StatsCommands stats = new StatsCommands(this);
    private final DeviceCommands device = new DeviceCommands(this);
    private final MemoryCommands memory = new MemoryCommands(this);
    /** Told the duration of every command (the daemon's QMP latency metrics); one for the whole process. */
    private static volatile CommandObserver observer = (command, nanos, failed) -> { };

    /** What {@link #observeCommands} is told after each command. */
    @FunctionalInterface
    public interface CommandObserver {
        void completed(String command, long nanos, boolean failed);
    }

    /** @param binary the QEMU binary this monitor's process runs (the capability cache's key, with the version) */
    public Monitor(QmpClient qmp, String binary, CapabilityCache capabilityCache) {
        this.qmp = qmp;
        this.binary = binary;
        this.capabilityCache = capabilityCache;
    }

    // ---- the guest's run state -----------------------------------------------------------------------------------

    public RunStatus queryStatus() {
        return call("query-status", null, RunStatus.class);
    }

    /** Pauses the vCPUs (idempotent). */
    public void stop() {
        call("stop", null);
    }

    /** Lets the vCPUs run (also reactivates the images after an outgoing migration completed). */
    public void cont() {
        call("cont", null);
    }

    /** Presses the ACPI power button; the guest decides what to do. */
    public void systemPowerdown() {
        call("system_powerdown", null);
    }

    /** Asks QEMU to exit, without waiting: QEMU may close the monitor before it answers. */
    public void quit() {
        qmp.submit("quit", null).exceptionally(t -> null);
    }

    // ---- command groups --------------------------------------------------------------------------------------------

    /** Block devices, nodes, block jobs and transactions. */
    public BlockCommands block() {
        return block;
    }

    /** Generic background jobs and the snapshot jobs. */
    public JobCommands jobs() {
        return jobs;
    }

    /** Migration, which also carries a guest's memory to and from a file. */
    public MigrationCommands migration() {
        return migration;
    }

    /** The built-in NBD server and its exports (storage migration). */
    public NbdCommands nbd() {
        return new NbdCommands(this);
    }

    /** Counters and the reads stats need: block I/O, vCPU threads, balloon, IOThreads, KVM's own statistics. */
    public StatsCommands stats() {
        return stats;
    }

    /** Devices and objects: device_add/del, object-add/del, netdev_add/del, qom-get/set, vCPU and memory slots. */
    public DeviceCommands device() {
        return device;
    }

    /** The balloon's target. */
    public MemoryCommands memory() {
        return memory;
    }

    /** Installs the observer every monitor tells how long each command took (e.g. for metrics). */
    public static void observeCommands(CommandObserver o) {
        observer = o == null ? (command, nanos, failed) -> { } : o;
    }

    // ---- events and the connection ---------------------------------------------------------------------------------

    /** Subscribes {@code handler} to one event; close the subscription to stop. */
    public <T> Subscription on(MonitorEvent<T> event, Consumer<T> handler) {
        AutoCloseable s = qmp.onEvent(event.name(), e -> handler.accept(event.decode(e.data(), e.timestamp())));
        return () -> {
            try {
                s.close();
            } catch (Exception e) {
                log.debug("unsubscribing from {}: {}", event, e.toString());
            }
        };
    }

    /** Completes once, when the monitor connection ends (QEMU exited or closed it). */
    public CompletableFuture<?> closed() {
        return qmp.closed();
    }

    public boolean isOpen() {
        return qmp.isOpen();
    }

    /** Completes once the connection ended and every event QEMU sent before its end reached the listeners. */
    public CompletableFuture<?> eventsDelivered() {
        return qmp.eventsDelivered();
    }

    /** QEMU's version as its greeting announced it, e.g. {@code 7.2.22 (Debian 1:7.2+dfsg-7)}. */
    public String version() {
        return qmp.greeting().version().toString();
    }

    /** What this QEMU offers; read once per QEMU build (see {@link CapabilityCache}), here on first use. */
    public QemuCapabilities capabilities() {
        return capabilityCache.get(binary, version(), () -> call("query-qmp-schema", null, Duration.ofSeconds(60)));
    }

    public boolean has(Feature feature) {
        return capabilities().has(feature);
    }

    /** Refuses, before anything changes, what this QEMU cannot do: "QEMU 7.2.0 has no X, needed for Y". */
    public void require(Feature feature, String neededFor) {
        if (!has(feature)) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU " + version() + " (" + binary + ") has no "
                    + feature.description() + ", needed for " + neededFor, Map.of("feature", feature.name()));
        }
    }

    @Override
    public String toString() {
        return "Monitor[" + qmp.socket() + "]";
    }

    // ---- plumbing for the command groups -----------------------------------------------------------------------------

    JsonNode call(String command, ObjectNode arguments) {
        return call(command, arguments, qmp.defaultTimeout());
    }

    JsonNode call(String command, ObjectNode arguments, Duration timeout) {
        return call(command, arguments, timeout, false);
    }

    /** As {@link #call(String, ObjectNode, Duration)}, out of band (for the few commands QEMU allows so). */
    JsonNode callOutOfBand(String command, ObjectNode arguments, Duration timeout) {
        return call(command, arguments, timeout, true);
    }

    private JsonNode call(String command, ObjectNode arguments, Duration timeout, boolean outOfBand) {
        long t0 = System.nanoTime();
        boolean failed = true;
        try {
            JsonNode reply = outOfBand ? qmp.executeOutOfBand(command, arguments, timeout)
                    : qmp.execute(command, arguments, timeout);
            failed = false;
            return reply;
        } catch (QmpException e) {
            throw MonitorException.of(command, e);
        } finally {
            observer.completed(command, System.nanoTime() - t0, failed);
        }
    }

    <T> T call(String command, ObjectNode arguments, Class<T> reply) {
        return decode(command, call(command, arguments), REPLIES.constructType(reply));
    }

    <T> List<T> callForList(String command, ObjectNode arguments, Class<T> element) {
        return callForList(command, arguments, qmp.defaultTimeout(), element);
    }

    <T> T call(String command, ObjectNode arguments, Duration timeout, Class<T> reply) {
        return decode(command, call(command, arguments, timeout), REPLIES.constructType(reply));
    }

    <T> List<T> callForList(String command, ObjectNode arguments, Duration timeout, Class<T> element) {
        return decode(command, call(command, arguments, timeout),
                REPLIES.getTypeFactory().constructCollectionType(List.class, element));
    }

    /** Sends without waiting; a failure is only logged (for event handlers, which must not block). */
    void send(String command, ObjectNode arguments) {
        qmp.submit(command, arguments).exceptionally(t -> {
            log.debug("QMP {} {} failed: {}", qmp.socket(), command, t.toString());
            return null;
        });
    }

    /** A part of a reply or an event, read as {@code type} (an enum value QEMU added later reads as UNKNOWN). */
    static <T> T read(JsonNode node, Class<T> type) {
        return REPLIES.convertValue(node, type);
    }

    /** A list in a reply, each element read as {@code element}. */
    static <T> List<T> readList(JsonNode node, Class<T> element) {
        return REPLIES.convertValue(node, REPLIES.getTypeFactory().constructCollectionType(List.class, element));
    }

    private static <T> T decode(String command, JsonNode reply, JavaType type) {
        try {
            return REPLIES.convertValue(reply, type);
        } catch (IllegalArgumentException e) {
            throw new MonitorException(command, null, "unexpected reply to " + command + ": " + e.getMessage(), e);
        }
    }
}
