package io.jvirt.network;

import java.nio.file.Path;

/**
 * Where a network's files live: runtime files (dnsmasq's config, pid file, DHCP hosts file, the nft file last
 * applied) under {@code <run-dir>/networks/NAME}; the lease database under the network's state directory, so leases
 * survive a host reboot as the definition does.
 */
record NetworkPaths(Path runDir, Path stateDir) {
    Path dnsmasqConf() {
        return runDir.resolve("dnsmasq.conf");
    }

    Path pidFile() {
        return runDir.resolve("dnsmasq.pid");
    }

    Path hostsFile() {
        return runDir.resolve("dhcp-hosts");
    }

    Path dnsmasqLog() {
        return runDir.resolve("dnsmasq.log");
    }

    Path nftFile() {
        return runDir.resolve("rules.nft");
    }

    Path leases() {
        return stateDir.resolve("dnsmasq.leases");
    }
}
