package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.function.BiFunction;

/**
 * The QEMU events jvirt reacts to, each with its typed record. Subscribe with
 * {@link Monitor#on(MonitorEvent, java.util.function.Consumer)}; a new event is one constant and one record here.
 *
 * @param <T> the record a handler receives
 */
public final class MonitorEvent<T> {
    /** SHUTDOWN's reason when the guest itself powered off (what jvirt records as the VM's reason too). */
    public static final String GUEST_SHUTDOWN = "guest-shutdown";
    /** The vCPUs stopped (a pause by anyone: us, a job, QEMU itself). */
    public static final MonitorEvent<Stop> STOP = new MonitorEvent<>("STOP", (d, at) -> new Stop(at));
    /** The vCPUs run again. */
    public static final MonitorEvent<Resume> RESUME = new MonitorEvent<>("RESUME", (d, at) -> new Resume(at));
    /** The guest shut down (with -no-shutdown QEMU stays alive) or a host request ended it. */
    public static final MonitorEvent<Shutdown> SHUTDOWN = new MonitorEvent<>("SHUTDOWN",
            (d, at) -> new Shutdown(d.path("guest").asBoolean(), d.path("reason").asText(GUEST_SHUTDOWN), at));
    /** A background job changed status. */
    public static final MonitorEvent<JobStatusChange> JOB_STATUS_CHANGE = new MonitorEvent<>("JOB_STATUS_CHANGE",
            (d, at) -> new JobStatusChange(d.path("id").asText(), Monitor.read(d.path("status"), JobStatus.class), at));
    /** A block job hit an I/O error. */
    public static final MonitorEvent<BlockJobError> BLOCK_JOB_ERROR = new MonitorEvent<>("BLOCK_JOB_ERROR",
            (d, at) -> new BlockJobError(d.path("device").asText(), d.path("operation").asText(),
                    d.path("action").asText(), at));
    /** A mirror (or active commit) has source and target in sync. */
    public static final MonitorEvent<BlockJobReady> BLOCK_JOB_READY = new MonitorEvent<>("BLOCK_JOB_READY",
            (d, at) -> new BlockJobReady(d.path("device").asText(), d.path("len").asLong(), d.path("offset").asLong(), at));
    /** A migration changed status (needs the {@link MigrationCapability#EVENTS} capability). */
    public static final MonitorEvent<Migration> MIGRATION = new MonitorEvent<>("MIGRATION",
            (d, at) -> new Migration(Monitor.read(d.path("status"), MigrationStatus.class), at));
    /** A migration started a new pass over dirty RAM. */
    public static final MonitorEvent<MigrationPass> MIGRATION_PASS = new MonitorEvent<>("MIGRATION_PASS",
            (d, at) -> new MigrationPass(d.path("pass").asLong(), at));
    /** A device is gone (device_del completed: the guest released it); {@code device} is its id (may be empty). */
    public static final MonitorEvent<DeviceDeleted> DEVICE_DELETED = new MonitorEvent<>("DEVICE_DELETED",
            (d, at) -> new DeviceDeleted(d.path("device").asText(""), d.path("path").asText(""), at));
    /** A virtio-mem device's size changed by the guest's action (rate-limited by QEMU to one a second). */
    public static final MonitorEvent<MemoryDeviceSizeChange> MEMORY_DEVICE_SIZE_CHANGE = new MonitorEvent<>(
            "MEMORY_DEVICE_SIZE_CHANGE", (d, at) -> new MemoryDeviceSizeChange(d.path("id").asText(""),
            d.path("size").asLong(), d.path("qom-path").asText(""), at));
    /** The guest's ACPI _OST status for a hotplug or unplug (a refusal carries a non-zero status). */
    public static final MonitorEvent<AcpiDeviceOst> ACPI_DEVICE_OST = new MonitorEvent<>("ACPI_DEVICE_OST",
            (d, at) -> new AcpiDeviceOst(d.path("info").path("device").asText(""), d.path("info").path("slot").asText(""),
                    d.path("info").path("source").asInt(), d.path("info").path("status").asInt(), at));
    /** The guest refused to release a device. */
    public static final MonitorEvent<DeviceUnplugGuestError> DEVICE_UNPLUG_GUEST_ERROR = new MonitorEvent<>(
            "DEVICE_UNPLUG_GUEST_ERROR", (d, at) -> new DeviceUnplugGuestError(d.path("device").asText(""),
            d.path("path").asText(""), at));
    /** The balloon moved: the guest now has {@code actual} bytes. */
    public static final MonitorEvent<BalloonChange> BALLOON_CHANGE = new MonitorEvent<>("BALLOON_CHANGE",
            (d, at) -> new BalloonChange(d.path("actual").asLong(), at));

    public record DeviceDeleted(String device, String path, Instant at) {
    }

    public record MemoryDeviceSizeChange(String id, long size, String qomPath, Instant at) {
    }

    /** {@code source}: 0x103 eject request, 0x3 removal; {@code status} 0 success, anything else a failure. */
    public record AcpiDeviceOst(String device, String slot, int source, int status, Instant at) {
    }

    public record DeviceUnplugGuestError(String device, String path, Instant at) {
    }

    public record BalloonChange(long actual, Instant at) {
    }

    public record Stop(Instant at) {
    }

    public record Resume(Instant at) {
    }

    /** @param guest the guest asked for it; {@code reason} e.g. guest-shutdown, host-qmp-quit, host-signal */
    public record Shutdown(boolean guest, String reason, Instant at) {
    }

    public record JobStatusChange(String id, JobStatus status, Instant at) {
    }

    /** @param operation {@code read} (source) or {@code write} (target); {@code action} what QEMU did about it */
    public record BlockJobError(String device, String operation, String action, Instant at) {
    }

    public record BlockJobReady(String device, long len, long offset, Instant at) {
    }

    public record Migration(MigrationStatus status, Instant at) {
    }

    public record MigrationPass(long pass, Instant at) {
    }

    private final String name;
    private final BiFunction<JsonNode, Instant, T> decode;

    private MonitorEvent(String name, BiFunction<JsonNode, Instant, T> decode) {
        this.name = name;
        this.decode = decode;
    }

    /** The event's name as QEMU spells it. */
    public String name() {
        return name;
    }

    T decode(JsonNode data, Instant at) {
        return decode.apply(data, at);
    }

    @Override
    public String toString() {
        return name;
    }
}
