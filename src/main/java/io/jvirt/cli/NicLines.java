package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** What {@code jvirt info} adds to a NIC's line: its network or bridge, its tap and its addresses. */
final class NicLines {
    private NicLines() {
    }

    static String extra(JsonNode n) {
        StringBuilder b = new StringBuilder();
        if (n.hasNonNull("network")) b.append(" network=").append(n.get("network").asText());
        if (n.hasNonNull("bridge")) b.append(" bridge=").append(n.get("bridge").asText());
        if (n.hasNonNull("tap")) b.append(" tap=").append(n.get("tap").asText());
        List<String> addrs = new ArrayList<>();
        n.path("addresses").forEach(a -> addrs.add(a.path("address").asText() + " (" + a.path("source").asText() + ")"));
        if (!addrs.isEmpty()) b.append(" addresses=").append(String.join(",", addrs));
        n.path("forwards").forEach(f -> b.append(" fwd=").append(f.path("proto").asText()).append(':')
                .append(f.path("hostAddress").asText()).append(':').append(f.path("hostPort").asText()).append("->")
                .append(f.path("guestPort").asText()));
        return b.toString();
    }
}
