package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;
import io.jvirt.qmp.QmpJson;
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
        monitor.call("migrate-set-parameters", QmpArgs.of("max-bandwidth", p.maxBandwidth()));
    }
}
