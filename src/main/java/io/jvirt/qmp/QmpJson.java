package io.jvirt.qmp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The JSON machinery shared by every client, so callers can build arguments and read answers with the same settings. */
public final class QmpJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private QmpJson() {
    }

    /**
     * The mapper used to encode commands and decode messages. Shared and thread-safe; reconfiguring it
     * would change how every client talks to QEMU, so treat it as read-only (use {@code copy()} to customize).
     */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
