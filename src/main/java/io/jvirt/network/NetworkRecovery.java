package io.jvirt.network;

import io.jvirt.store.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At daemon start: adopts what a previous daemon left running (bridge, dnsmasq by pid and command line, nft
 * table), repairs a missing part, removes the remains of a start or stop that was cut short, creates the default
 * network on the very first start (unless disabled), and starts autostart networks that are down (after a host
 * reboot: their bridge is gone).
 */
public final class NetworkRecovery {
    private static final Logger log = LoggerFactory.getLogger(NetworkRecovery.class);
    static final String DEFAULT = "default";
    private static final String DEFAULT_MARKER = "default-network-created";

    private NetworkRecovery() {
    }

    public static void recoverAll(NetworkService s, boolean createDefault) {
        for (NetworkDefinition d : s.definitions()) {
            try {
                s.withLock(d.name(), () -> {
                    adoptOrClean(s, d);
                    return null;
                });
            } catch (RuntimeException e) {
                log.error("network {}: recovery failed: {}", d.name(), e.getMessage());
            }
        }
        if (createDefault) {
            createDefault(s);
        }
        for (NetworkDefinition d : s.definitions()) {
            if (Boolean.TRUE.equals(d.autostart()) && !s.record(d.name()).active()) {
                try {
                    s.start(d.name());
                    log.info("network {}: autostarted", d.name());
                } catch (RuntimeException e) {
                    log.error("network {}: autostart failed: {}", d.name(), e.getMessage());
                }
            }
        }
    }

    private static void adoptOrClean(NetworkService s, NetworkDefinition d) {
        NetworkRecord r = s.record(d.name());
        NetworkPaths paths = s.paths(d.name());
        switch (r.status()) {
            case NetworkRecord.INACTIVE -> {
                return;
            }
            case NetworkRecord.STARTING, NetworkRecord.STOPPING -> {
                log.info("network {}: a {} was cut short; removing what it made", d.name(), r.status());
                NetworkLifecycle.teardown(d, paths, r);
                s.put(d.name(), NetworkRecord.inactive(r.status() + "-interrupted"));
                return;
            }
            default -> {
            }
        }
        var bridge = Links.link(d.bridge());
        if (bridge.isEmpty() || !bridge.get().isBridge()) {
            // Host reboot (or someone deleted it): nothing of the network is left to adopt.
            log.info("network {}: bridge {} is gone; the network is down", d.name(), d.bridge());
            NetworkLifecycle.teardown(d, paths, r);
            s.put(d.name(), NetworkRecord.inactive("bridge gone (host rebooted?)"));
            return;
        }
        if (!d.managed()) {
            log.info("network {}: adopted (bridge {})", d.name(), d.bridge());
            return;
        }
        StringBuilder repaired = new StringBuilder();
        if (d.ipv4() != null) {
            Links.ensureAddress(d.bridge(), Cidr.parse(d.ipv4().address()));
        }
        if (d.ipv6() != null) {
            Links.ensureAddress(d.bridge(), Cidr.parse(d.ipv6().address()));
        }
        if (!Nftables.exists(d.nftTable())) {
            Nftables.apply(d, paths.nftFile());
            repaired.append(" nft table re-applied;");
        }
        Long pid = r.dnsmasqPid();
        if (pid != null && Dnsmasq.isOurs(pid, paths)) {
            s.supervisor.watchAdopted(d.name(), pid);
            if (Dnsmasq.writeHosts(paths, s.hostLines(d))) {
                Dnsmasq.reload(pid, paths); // VMs were defined or undefined while no daemon ran
            }
        } else {
            Dnsmasq.pidFromFile(paths).filter(p -> Dnsmasq.isOurs(p, paths)).ifPresent(p -> Dnsmasq.stop(p, paths));
            Dnsmasq.writeConfig(d, paths);
            Dnsmasq.writeHosts(paths, s.hostLines(d));
            Process p = Dnsmasq.start(paths);
            s.put(d.name(), r.withDnsmasq(p.pid()));
            s.supervisor.watchChild(d.name(), p);
            repaired.append(" dnsmasq restarted as ").append(p.pid()).append(';');
        }
        log.info("network {}: adopted (bridge {}, dnsmasq {}, table {}){}", d.name(), d.bridge(), s.record(d.name()).dnsmasqPid(),
                d.nftTable(), repaired.isEmpty() ? "" : ":" + repaired);
    }

    /** The default nat network, once: a user who undefines it does not get it back at the next start. */
    private static void createDefault(NetworkService s) {
        Path marker = s.stateRoot().resolve(DEFAULT_MARKER);
        if (Files.exists(marker)) {
            return;
        }
        try {
            if (s.definitions().stream().noneMatch(d -> d.name().equals(DEFAULT))) {
                s.define(defaultDefinition(Links.routes(), s.definitions()));
            }
            AtomicFiles.write(marker, "created\n".getBytes());
        } catch (IOException | RuntimeException e) {
            log.error("cannot create the default network: {}", e.getMessage());
        }
    }

    /** 192.168.123.0/24, or the next /24 above it that no route and no network uses (libvirt's is .122). */
    static NetworkDefinition defaultDefinition(List<Links.Route> routes, List<NetworkDefinition> networks) {
        for (int third = 123; third < 255; third++) {
            Cidr c = Cidr.parse("192.168." + third + ".1/24");
            boolean taken = routes.stream().anyMatch(r -> {
                Cidr dst = Cidr.parse(r.dst().contains("/") ? r.dst() : r.dst() + "/32");
                return dst != null && dst.prefix() > 0 && dst.overlaps(c);
            }) || networks.stream().anyMatch(n -> n.ipv4() != null && Cidr.parse(n.ipv4().address()).overlaps(c));
            if (!taken) {
                return new NetworkDefinition(DEFAULT, NetworkDefinition.NAT, "jv-default", true,
                        new NetworkDefinition.Ip(c.toString(), null), null, null, null, null);
            }
        }
        throw new IllegalStateException("no free 192.168.x.0/24 for the default network");
    }
}
