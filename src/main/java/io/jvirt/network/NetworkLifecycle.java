package io.jvirt.network;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps that bring a network up and take it down. Every check that can refuse runs before anything is
 * created; then each thing is named in the durable record before it is made, and a failure half-way removes what
 * was made, so a refused or failed start leaves nothing behind. Callers hold the network's lock.
 */
final class NetworkLifecycle {
    private static final Logger log = LoggerFactory.getLogger(NetworkLifecycle.class);
    private static final Path IPV4_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");
    private static final Path IPV6_FORWARD = Path.of("/proc/sys/net/ipv6/conf/all/forwarding");

    private NetworkLifecycle() {
    }

    /** Refuses a start that would collide with the host; creates nothing. */
    static void checkHost(NetworkDefinition d, NetworkRecord previous) {
        var link = Links.link(d.bridge());
        boolean ours = previous != null && previous.bridgeCreated() && d.bridge().equals(previous.bridge());
        if (!d.managed()) {
            if (link.isEmpty() || !link.get().isBridge()) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "network '" + d.name() + "': " + d.bridge()
                        + (link.isEmpty() ? " does not exist" : " is not a bridge (it is a " + kindOf(link.get()) + ")")
                        + "; a bridge network attaches to a Linux bridge the admin made", Map.of("network", d.name()));
            }
            return;
        }
        if (link.isPresent() && !ours) {
            throw new JvirtException(ErrorCode.NETWORK_CONFLICT, "network '" + d.name() + "': the name " + d.bridge()
                    + " is in use by an interface that is not this network's (a " + kindOf(link.get()) + ")",
                    Map.of("network", d.name(), "bridge", d.bridge()));
        }
        for (NetworkDefinition.Ip ip : new NetworkDefinition.Ip[] {d.ipv4(), d.ipv6()}) {
            Cidr mine = ip == null ? null : Cidr.parse(ip.address());
            if (mine == null) {
                continue;
            }
            for (Links.Route r : Links.routes()) {
                Cidr dst = routeCidr(r.dst());
                if (dst != null && dst.prefix() > 0 && !r.dev().equals(d.bridge()) && mine.overlaps(dst)
                        && !dst.address().isLinkLocalAddress() && !dst.address().isMulticastAddress()) {
                    throw new JvirtException(ErrorCode.NETWORK_CONFLICT, "network '" + d.name() + "': subnet " + mine.network()
                            + " collides with the host's route " + r.text(), Map.of("network", d.name(), "route", r.text()));
                }
            }
        }
    }

    private static Cidr routeCidr(String dst) {
        if (dst == null || dst.equals("default")) {
            return null;
        }
        return Cidr.parse(dst.contains("/") ? dst : dst + (dst.contains(":") ? "/128" : "/32"));
    }

    private static String kindOf(Links.Link l) {
        return l.kind() == null ? "plain interface" : l.kind();
    }

    /**
     * Creates bridge, addresses, rules and dnsmasq; {@code record} is called with each new durable state (before
     * the step it announces). Returns the dnsmasq process (null for a bridge network).
     */
    static Process start(NetworkDefinition d, NetworkPaths paths, NetworkRecord previous, Consumer<NetworkRecord> record,
                         List<String> hostLines) {
        if (!d.managed()) {
            record.accept(new NetworkRecord(NetworkRecord.ACTIVE, d.bridge(), false, null, null, false,
                    java.time.Instant.now(), "started"));
            return null;
        }
        boolean nat = NetworkDefinition.NAT.equals(d.kind());
        boolean forwarding = nat && !("1".equals(read(IPV4_FORWARD)) && (d.ipv6() == null || "1".equals(read(IPV6_FORWARD))));
        NetworkRecord intent = new NetworkRecord(NetworkRecord.STARTING, d.bridge(), true, d.nftTable(), null, forwarding,
                java.time.Instant.now(), "starting");
        record.accept(intent);
        try {
            if (!Links.exists(d.bridge())) {
                Links.createBridge(d.bridge());
            }
            if (d.ipv4() != null) {
                Links.ensureAddress(d.bridge(), Cidr.parse(d.ipv4().address()));
            }
            if (d.ipv6() != null) {
                Links.ensureAddress(d.bridge(), Cidr.parse(d.ipv6().address()));
            }
            Links.up(d.bridge());
            Nftables.apply(d, paths.nftFile());
            if (forwarding) {
                // NAT needs routing between the bridge and the uplink (per network namespace); never turned off
                // again: other things of the host may rely on it once it is on.
                write(IPV4_FORWARD, "1");
                if (d.ipv6() != null) {
                    write(IPV6_FORWARD, "1");
                }
            }
            Dnsmasq.writeConfig(d, paths);
            Dnsmasq.writeHosts(paths, hostLines);
            Process p = Dnsmasq.start(paths);
            record.accept(intent.withDnsmasq(p.pid()).withStatus(NetworkRecord.ACTIVE, "started"));
            return p;
        } catch (RuntimeException e) {
            log.warn("network {}: start failed, removing what it made: {}", d.name(), e.getMessage());
            teardown(d, paths, intent);
            record.accept(NetworkRecord.inactive("start-failed: " + e.getMessage()));
            throw e;
        }
    }

    /** Removes whatever the record names (each step tolerates what is already gone). */
    static void teardown(NetworkDefinition d, NetworkPaths paths, NetworkRecord r) {
        if (r.dnsmasqPid() != null) {
            Dnsmasq.stop(r.dnsmasqPid(), paths);
        }
        Dnsmasq.pidFromFile(paths).ifPresent(pid -> Dnsmasq.stop(pid, paths)); // one started but not recorded yet
        if (r.nftTable() != null) {
            Nftables.delete(r.nftTable());
        }
        if (r.bridgeCreated() && r.bridge() != null) {
            Links.delete(r.bridge());
        }
        for (Path f : List.of(paths.dnsmasqConf(), paths.pidFile(), paths.hostsFile(), paths.nftFile(),
                paths.runDir().resolve("dnsmasq.out"), paths.dnsmasqLog())) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                log.debug("cannot remove {}: {}", f, e.toString());
            }
        }
        try {
            Files.deleteIfExists(paths.runDir());
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", paths.runDir(), e.toString());
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static void write(Path p, String value) {
        try {
            Files.writeString(p, value);
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.NETWORK_FAILED, "cannot turn on IP forwarding (" + p + "): " + e.getMessage());
        }
    }
}
