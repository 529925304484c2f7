package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;
import io.jvirt.qmp.QmpJson;
import java.time.Duration;
import java.util.Map;

/** Migration of one QEMU (get it from {@link Monitor#migration()}); {@link QemuMigration} follows one to its end. */
public final class MigrationCommands {
    private final Monitor monitor;

    MigrationCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    /** Starts an outgoing migration to {@code uri}, e.g. {@code unix:/run/x.sock}; returns once it started. */
    public void migrate(String uri) {
        monitor.call("migrate", QmpArgs.of("uri", uri));
    }

    /** A QEMU started with {@code -incoming defer} listens on {@code uri} once this returns. */
    public void migrateIncoming(String uri) {
        monitor.call("migrate-incoming", QmpArgs.of("uri", uri));
    }

    public MigrationInfo queryMigrate() {
        return monitor.call("query-migrate", null, MigrationInfo.class);
    }

    public void migrateCancel() {
        monitor.call("migrate_cancel", null);
    }

    public void migrateSetCapabilities(Map<MigrationCapability, Boolean> capabilities) {
        ArrayNode list = QmpJson.mapper().createArrayNode();
        capabilities.forEach((c, on) -> list.addObject().put("capability", c.wire()).put("state", on));
        ObjectNode args = QmpJson.object();
        args.set("capabilities", list);
        monitor.call("migrate-set-capabilities", args);
    }

    public void migrateSetParameters(MigrationParameters p) {
        ObjectNode args = QmpJson.object();
        if (p.maxBandwidth() != null) {
            args.put("max-bandwidth", p.maxBandwidth());
        }
        if (p.downtimeLimit() != null) {
            args.put("downtime-limit", p.downtimeLimit());
        }
        if (p.tlsCreds() != null) {
            args.put("tls-creds", p.tlsCreds());
        }
        if (p.tlsHostname() != null) {
            args.put("tls-hostname", p.tlsHostname());
        }
        monitor.call("migrate-set-parameters", args);
    }

    /** Limits the post-copy phase's rate (bytes/s; 0: unlimited, QEMU's default); pre-copy's is max-bandwidth. */
    public void migrateSetPostcopyBandwidth(long bytesPerSecond) {
        monitor.call("migrate-set-parameters", QmpArgs.of("max-postcopy-bandwidth", bytesPerSecond));
    }

    /** The number of parallel connections of a {@code multifd} migration (1..255 in QEMU; both sides the same). */
    public void migrateSetMultifdChannels(int channels) {
        monitor.call("migrate-set-parameters", QmpArgs.of("multifd-channels", channels));
    }

    /** Which migration capabilities are on now ({@code query-migrate-capabilities}). */
    public java.util.Set<MigrationCapability> queryMigrateCapabilities() {
        java.util.Set<MigrationCapability> on = java.util.EnumSet.noneOf(MigrationCapability.class);
        for (com.fasterxml.jackson.databind.JsonNode c : monitor.call("query-migrate-capabilities", null)) {
            for (MigrationCapability k : MigrationCapability.values()) {
                if (k.wire().equals(c.path("capability").asText()) && c.path("state").asBoolean()) {
                    on.add(k);
                }
            }
        }
        return on;
    }

    /** The {@code multifd-channels} parameter as QEMU has it now ({@code query-migrate-parameters}). */
    public int queryMultifdChannels() {
        return monitor.call("query-migrate-parameters", null).path("multifd-channels").asInt(-1);
    }

    /** Lets a migration stopped at {@code state} (pause-before-switchover: {@code pre-switchover}) go on. */
    public void migrateContinue(MigrationStatus state) {
        monitor.call("migrate-continue", QmpArgs.of("state", state.wire()));
    }

    /** Switches a running migration with {@code postcopy-ram} to post-copy. */
    public void migrateStartPostcopy() {
        monitor.call("migrate-start-postcopy", null);
    }

    /**
     * Forces a post-copy whose link hangs (no reset, e.g. a cut cable) into {@code postcopy-paused}: QEMU shuts its
     * migration socket down instead of waiting for TCP to give up. Sent out of band: a destination's main loop may
     * be blocked on a guest page that will not come over the dead link, and in-band commands wait for it.
     */
    public void migratePause() {
        monitor.callOutOfBand("migrate-pause", null, Duration.ofSeconds(10));
    }

    /**
     * Destination of a post-copy paused by a broken link: listens again on {@code uri}. Out of band, for the same
     * reason as {@link #migratePause} (QEMU allows both so).
     */
    public void migrateRecover(String uri) {
        monitor.callOutOfBand("migrate-recover", QmpArgs.of("uri", uri), Duration.ofSeconds(30));
    }

    /** Source of a paused post-copy: resumes it to a destination that ran {@link #migrateRecover}. */
    public void migrateResume(String uri) {
        monitor.call("migrate", QmpArgs.of("uri", uri, "resume", true));
    }

    /**
     * Adds a {@code tls-creds-x509} object named {@code id} reading QEMU's file names in {@code dir}; a server
     * endpoint verifies its client's certificate, a client always verifies the server's.
     */
    public void addTlsCreds(String id, java.nio.file.Path dir, boolean server) {
        ObjectNode args = QmpArgs.of("qom-type", "tls-creds-x509", "id", id, "dir", dir.toString(),
                "endpoint", server ? "server" : "client");
        if (server) {
            args.put("verify-peer", true);
        }
        monitor.call("object-add", args);
    }

    /** Removes an object added by {@link #addTlsCreds}. */
    public void objectDel(String id) {
        monitor.call("object-del", QmpArgs.of("id", id));
    }
}
