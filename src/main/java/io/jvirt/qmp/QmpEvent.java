package io.jvirt.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;

/**
 * One asynchronous QMP event, e.g. {@code STOP}, {@code RESUME}, {@code SHUTDOWN}.
 *
 * @param name      the event name as QEMU spells it
 * @param data      the event's {@code data} member; an empty object when QEMU sent none, so callers need no null checks
 * @param timestamp when QEMU emitted the event (QEMU's host clock, microsecond precision)
 */
public record QmpEvent(String name, JsonNode data, Instant timestamp) {

    public QmpEvent {
        Objects.requireNonNull(name, "name");
        data = data == null || data.isNull() ? QmpJson.mapper().createObjectNode() : data;
        Objects.requireNonNull(timestamp, "timestamp");
    }

    /** Builds an event from {@code {"event": ..., "data": ..., "timestamp": {"seconds": ..., "microseconds": ...}}}. */
    static QmpEvent fromJson(JsonNode message) {
        JsonNode name = message.get("event");
        if (name == null || !name.isTextual()) {
            throw new QmpProtocolException("QMP event without a name: " + message);
        }
        return new QmpEvent(name.asText(), message.get("data"), timestampOf(message.get("timestamp")));
    }

    private static Instant timestampOf(JsonNode timestamp) {
        // QEMU always sends one; tolerate its absence rather than dropping the event.
        if (timestamp == null || !timestamp.isObject()) {
            return Instant.now();
        }
        return Instant.ofEpochSecond(timestamp.path("seconds").asLong(), timestamp.path("microseconds").asLong() * 1_000);
    }
}
