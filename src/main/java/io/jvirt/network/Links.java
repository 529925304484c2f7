package io.jvirt.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Bridges, taps, addresses and routes of the daemon's network namespace through iproute2 ({@code ip -j} for
 * reading). Names and addresses were checked by the validators; they still go as separate arguments.
 */
final class Links {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What {@code ip -d link} says of one interface. */
    record Link(String name, String kind, String master, boolean up, String mac) {
        boolean isBridge() {
            return "bridge".equals(kind);
        }
    }

    /** A route of the main table: its destination and the line ip would print. */
    record Route(String dst, String dev, String text) {
    }

    private Links() {
    }

    static Optional<Link> link(String name) {
        HostCommand.Result r = HostCommand.run("ip", "-j", "-d", "link", "show", "dev", name);
        if (!r.ok()) {
            return Optional.empty(); // "Device ... does not exist"
        }
        JsonNode l = parse(r.stdout()).path(0);
        if (l.isMissingNode()) {
            return Optional.empty();
        }
        List<String> flags = new ArrayList<>();
        l.path("flags").forEach(f -> flags.add(f.asText()));
        return Optional.of(new Link(l.path("ifname").asText(), l.path("linkinfo").path("info_kind").asText(null),
                l.path("master").asText(null), flags.contains("UP"), l.path("address").asText(null)));
    }

    static boolean exists(String name) {
        return link(name).isPresent();
    }

    /** A bridge without STP (jvirt's bridges have no loops): ports forward at once. */
    static void createBridge(String name) {
        HostCommand.check("ip", "link", "add", "name", name, "type", "bridge", "stp_state", "0", "forward_delay", "0");
    }

    static void up(String name) {
        HostCommand.check("ip", "link", "set", "dev", name, "up");
    }

    /** Adds the address unless the interface has it already (adopting a bridge after a crash). */
    static void ensureAddress(String name, Cidr address) {
        if (addresses(name).contains(address.toString())) {
            return;
        }
        if (address.isV4()) {
            HostCommand.check("ip", "address", "add", address.toString(), "dev", name);
        } else {
            HostCommand.check("ip", "-6", "address", "add", address.toString(), "dev", name, "nodad");
        }
    }

    static List<String> addresses(String name) {
        HostCommand.Result r = HostCommand.run("ip", "-j", "address", "show", "dev", name);
        List<String> out = new ArrayList<>();
        if (r.ok()) {
            for (JsonNode l : parse(r.stdout())) {
                for (JsonNode a : l.path("addr_info")) {
                    out.add(a.path("local").asText() + "/" + a.path("prefixlen").asInt());
                }
            }
        }
        return out;
    }

    /** Deletes an interface; one that is already gone is fine. */
    static void delete(String name) {
        HostCommand.Result r = HostCommand.run("ip", "link", "del", "dev", name);
        if (!r.ok() && exists(name)) {
            throw HostCommand.failed("ip", new String[] {"link", "del", "dev", name}, r);
        }
    }

    /** A persistent tap owned by {@code uid} (the user QEMU runs as opens it), attached to {@code bridge}, up. */
    static void createTap(String name, int uid, String bridge) {
        HostCommand.check("ip", "tuntap", "add", "dev", name, "mode", "tap", "user", Integer.toString(uid));
        HostCommand.check("ip", "link", "set", "dev", name, "master", bridge, "up");
    }

    /** Routes of the namespace's main tables (IPv4 and IPv6), for the clash check before a network starts. */
    static List<Route> routes() {
        List<Route> out = new ArrayList<>();
        for (String family : new String[] {"-4", "-6"}) {
            for (JsonNode r : parse(HostCommand.check("ip", "-j", family, "route", "show"))) {
                String dst = r.path("dst").asText();
                String dev = r.path("dev").asText("");
                String text = dst + (dev.isEmpty() ? "" : " dev " + dev)
                        + (r.has("gateway") ? " via " + r.path("gateway").asText() : "");
                out.add(new Route(dst, dev, text));
            }
        }
        return out;
    }

    private static JsonNode parse(String json) {
        try {
            JsonNode n = JSON.readTree(json.isBlank() ? "[]" : json);
            return n == null ? JSON.createArrayNode() : n;
        } catch (IOException e) {
            return JSON.createArrayNode();
        }
    }
}
