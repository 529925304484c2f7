package io.jvirt.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Builds command arguments concisely: {@code QmpArgs.of("device", "vda", "speed", 0)}.
 */
public final class QmpArgs {

    private QmpArgs() {
    }

    /**
     * Alternating keys and values. Values may be anything Jackson can convert (strings, numbers, booleans,
     * {@link JsonNode}s, maps, lists, records). A {@code null} value omits the key, because QMP expresses
     * "use the default" by absence and rejects {@code null} for most argument types; that makes optional
     * arguments easy to pass through.
     */
    public static ObjectNode of(Object... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("QmpArgs.of needs key/value pairs, got " + keyValues.length + " items");
        }
        ObjectNode node = QmpJson.object();
        for (int i = 0; i < keyValues.length; i += 2) {
            if (!(keyValues[i] instanceof String key)) {
                throw new IllegalArgumentException("argument name at position " + i + " is not a String: " + keyValues[i]);
            }
            Object value = keyValues[i + 1];
            if (value != null) {
                node.set(key, value instanceof JsonNode json ? json : QmpJson.mapper().valueToTree(value));
            }
        }
        return node;
    }
}
