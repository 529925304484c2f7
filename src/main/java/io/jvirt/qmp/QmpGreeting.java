package io.jvirt.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The first message QEMU sends on a monitor connection.
 *
 * @param version      QEMU's version
 * @param capabilities protocol capabilities QEMU offers (e.g. {@code "oob"}, which the client enables when
 *                     offered)
 */
public record QmpGreeting(QmpVersion version, List<String> capabilities) {

    public QmpGreeting {
        capabilities = List.copyOf(capabilities);
    }

    public boolean hasCapability(String capability) {
        return capabilities.contains(capability);
    }

    /** True if the message looks like a greeting: {@code {"QMP": {...}}}. */
    static boolean isGreeting(JsonNode message) {
        return message.has("QMP");
    }

    /** Parses {@code {"QMP": {"version": {"qemu": {"major", "minor", "micro"}, "package"}, "capabilities": [...]}}}. */
    static QmpGreeting fromJson(JsonNode message) {
        JsonNode qmp = message.get("QMP");
        JsonNode version = qmp == null ? null : qmp.get("version");
        if (version == null || !version.path("qemu").isObject()) {
            throw new QmpProtocolException("malformed QMP greeting: " + message);
        }
        JsonNode qemu = version.get("qemu");
        List<String> capabilities = new ArrayList<>();
        qmp.path("capabilities").forEach(c -> capabilities.add(c.asText()));
        return new QmpGreeting(
                new QmpVersion(qemu.path("major").asInt(), qemu.path("minor").asInt(), qemu.path("micro").asInt(),
                        version.path("package").asText("")),
                capabilities);
    }
}
