package io.jvirt.network;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.VmDefinition;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pure logic of networks: validation and defaults, subnets, the nft table, dnsmasq's files, leases, tap names. */
class NetworkDefinitionTest {
    static NetworkDefinition nat(String name, String address) {
        return new NetworkDefinition(name, null, null, null, new NetworkDefinition.Ip(address, null), null, null, null, null);
    }

    static ErrorCode codeOf(Runnable r) {
        try {
            r.run();
        } catch (JvirtException e) {
            return e.code();
        }
        throw new AssertionError("accepted");
    }

    @Test
    void defaultsFillBridgeDomainAndADhcpRangeAroundTheHostAddress() {
        NetworkDefinition d = NetworkValidator.validate(nat("lab", "10.77.0.1/24"), List.of());
        assertThat(d.kind()).isEqualTo("nat");
        assertThat(d.bridge()).isEqualTo("jv-lab");
        assertThat(d.domain()).isEqualTo("lab");
        assertThat(d.autostart()).isFalse();
        assertThat(d.ipv4().dhcp()).isEqualTo(new NetworkDefinition.Range("10.77.0.2", "10.77.0.254"));
        assertThat(NetworkValidator.validate(nat("hi", "10.77.0.254/24"), List.of()).ipv4().dhcp())
                .isEqualTo(new NetworkDefinition.Range("10.77.0.1", "10.77.0.253"));
        assertThat(NetworkValidator.validate(nat("mid", "10.77.0.100/24"), List.of()).ipv4().dhcp())
                .isEqualTo(new NetworkDefinition.Range("10.77.0.101", "10.77.0.254"));
        NetworkDefinition v6 = NetworkValidator.validate(new NetworkDefinition("six", "isolated", null, true, null,
                new NetworkDefinition.Ip("fd77::1/64", new NetworkDefinition.Range("fd77::100", "fd77::1ff")), "six.test",
                List.of("192.0.2.53"), null), List.of());
        assertThat(v6.ipv6().dhcp().end()).isEqualTo("fd77:0:0:0:0:0:0:1ff");
        assertThat(v6.autostart()).isTrue();
    }

    @Test
    void badDefinitionsAreRefusedWithTheirCode() {
        NetworkDefinition lab = NetworkValidator.validate(nat("lab", "10.77.0.1/24"), List.of());
        List<NetworkDefinition> others = List.of(lab);
        assertThat(codeOf(() -> NetworkValidator.validate(nat("b", "10.77.128.1/17"), List.of(NetworkValidator.validate(nat("x", "10.77.0.1/16"), List.of())))))
                .isEqualTo(ErrorCode.NETWORK_CONFLICT);
        assertThat(codeOf(() -> NetworkValidator.validate(nat("b", "10.0.0.1/8"), others))).isEqualTo(ErrorCode.NETWORK_CONFLICT);
        assertThat(codeOf(() -> NetworkValidator.validate(new NetworkDefinition("b", null, "jv-lab", null,
                new NetworkDefinition.Ip("10.78.0.1/24", null), null, null, null, null), others))).isEqualTo(ErrorCode.NETWORK_CONFLICT);
        for (NetworkDefinition bad : List.of(
                nat("b", "10.78.0.0/24"), nat("b", "10.78.0.255/24"), nat("b", "10.78.0.1"), nat("b", "10.78.0.1/31"),
                nat("b", "fd00::1/64"), nat("b", "127.0.0.2/8"), nat("b", "host.example/24"),
                new NetworkDefinition("b", "nat", null, null, null, null, null, null, null),
                new NetworkDefinition("b", "vlan", null, null, new NetworkDefinition.Ip("10.78.0.1/24", null), null, null, null, null),
                new NetworkDefinition("b", "bridge", null, null, null, null, null, null, null),
                new NetworkDefinition("averyveryverylongname", null, null, null, new NetworkDefinition.Ip("10.78.0.1/24", null), null, null, null, null),
                new NetworkDefinition("b", null, "bad name", null, new NetworkDefinition.Ip("10.78.0.1/24", null), null, null, null, null),
                range("10.78.1.10", "10.78.1.20"), range("10.78.0.20", "10.78.0.10"), range("10.78.0.0", "10.78.0.10"),
                range("10.78.0.10", "10.78.0.255"), range("10.78.0.1", "10.78.0.10"), range("fd00::1", "fd00::2"),
                hosts(new NetworkDefinition.Host(null, null, "10.78.0.5", null)),
                hosts(new NetworkDefinition.Host("52:54:00:00:00:01", "web", "10.78.0.5", null)),
                hosts(new NetworkDefinition.Host("52:54:00:00:00:01", null, "10.79.0.5", null)),
                hosts(new NetworkDefinition.Host("52:54:00:00:00:01", null, "10.78.0.1", null)),
                hosts(new NetworkDefinition.Host("52:54:00:00:00:01", null, "10.78.0.5", "a.b")),
                hosts(new NetworkDefinition.Host("52:54:00:00:00:01", null, "10.78.0.5", null),
                        new NetworkDefinition.Host("52:54:00:00:00:02", null, "10.78.0.5", null)),
                new NetworkDefinition("b", null, null, null, new NetworkDefinition.Ip("10.78.0.1/24", null), null, "bad_domain",
                        null, null),
                new NetworkDefinition("b", null, null, null, new NetworkDefinition.Ip("10.78.0.1/24", null), null, null,
                        List.of("dns.example"), null))) {
            assertThat(codeOf(() -> NetworkValidator.validate(bad, others))).as(bad.toString()).isEqualTo(ErrorCode.INVALID_NETWORK);
        }
        assertThat(codeOf(() -> NetworkValidator.validate(nat("../x", "10.78.0.1/24"), others))).isEqualTo(ErrorCode.INVALID_NAME);
    }

    static NetworkDefinition range(String start, String end) {
        return new NetworkDefinition("b", null, null, null,
                new NetworkDefinition.Ip("10.78.0.1/24", new NetworkDefinition.Range(start, end)), null, null, null, null);
    }

    static NetworkDefinition hosts(NetworkDefinition.Host... h) {
        return new NetworkDefinition("b", null, null, null, new NetworkDefinition.Ip("10.78.0.1/24", null), null, null, null,
                List.of(h));
    }

    @Test
    void theNftTableMasqueradesOnlyANatNetworksSubnetAndIsolatedOnesForwardNothing() {
        String nat = Nftables.render(NetworkValidator.validate(nat("lab", "10.77.0.1/24"), List.of()));
        assertThat(nat).contains("table inet jvirt-lab\ndelete table inet jvirt-lab\ntable inet jvirt-lab {")
                .contains("ip saddr 10.77.0.0/24 ip daddr != 10.77.0.0/24 masquerade")
                .contains("iifname \"jv-lab\" ip saddr 10.77.0.0/24 accept")
                .contains("oifname \"jv-lab\" ip daddr 10.77.0.0/24 ct state established,related accept");
        String iso = Nftables.render(NetworkValidator.validate(new NetworkDefinition("iso", "isolated", null, null,
                new NetworkDefinition.Ip("10.79.0.1/24", null), null, null, null, null), List.of()));
        assertThat(iso).doesNotContain("masquerade").doesNotContain("saddr").contains("iifname \"jv-iso\" reject");
    }

    @Test
    void dnsmasqIsBoundToTheBridgeAndKnowsTheVmsByName() {
        NetworkDefinition d = NetworkValidator.validate(new NetworkDefinition("lab", null, null, null,
                new NetworkDefinition.Ip("10.77.0.1/24", new NetworkDefinition.Range("10.77.0.100", "10.77.0.150")), null, null,
                List.of(), List.of(new NetworkDefinition.Host(null, "web2", "10.77.0.50", null),
                new NetworkDefinition.Host("52:54:00:00:00:09", null, "10.77.0.9", "printer"))), List.of());
        NetworkPaths paths = new NetworkPaths(Path.of("/run/jvirt/networks/lab"), Path.of("/var/lib/jvirt/networks/owners/lab"));
        String conf = Dnsmasq.config(d, paths);
        assertThat(conf).contains("interface=jv-lab\n", "bind-dynamic\n", "domain=lab\n", "local=/lab/\n", "no-resolv\n",
                "dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,1h\n", "dhcp-option=option:router,10.77.0.1\n",
                "dhcp-leasefile=/var/lib/jvirt/networks/owners/lab/dnsmasq.leases\n", "dhcp-lease-max=51\n");
        List<VmDefinition> vms = List.of(
                vm("web1", new VmDefinition.Nic("net0", "network", "virtio-net-pci", "52:54:00:00:00:01", "lab", null, null, null)),
                vm("web2", new VmDefinition.Nic("net0", "network", "virtio-net-pci", "52:54:00:00:00:02", "lab", null, null, null),
                        new VmDefinition.Nic("net1", "network", "virtio-net-pci", "52:54:00:00:00:03", "lab", null, null, null)),
                vm("other", new VmDefinition.Nic("net0", "network", "virtio-net-pci", "52:54:00:00:00:04", "elsewhere", null, null, null)),
                vm("under_score", new VmDefinition.Nic("net0", "network", "virtio-net-pci", "52:54:00:00:00:05", "lab", null, null, null)));
        assertThat(DhcpHosts.lines(d, vms)).containsExactly("52:54:00:00:00:01,web1", "52:54:00:00:00:02,10.77.0.50,web2",
                "52:54:00:00:00:09,10.77.0.9,printer");
    }

    static VmDefinition vm(String name, VmDefinition.Nic... nics) {
        return new VmDefinition(name, null, null, null, null, null, null, null, List.of(), List.of(nics));
    }

    @Test
    void leasesComeFromDnsmasqsFileAndExpiredOnesAreLeftOut() {
        Instant now = Instant.ofEpochSecond(1_800_000_000L);
        List<DhcpLeases.Lease> leases = DhcpLeases.parse("lab", List.of(
                "1800003600 52:54:00:00:00:01 10.77.0.101 web1 01:52:54:00:00:00:01",
                "1799999999 52:54:00:00:00:02 10.77.0.102 * *",
                "0 52:54:00:00:00:03 10.77.0.103 * *",
                "duid 00:01:00:01:2c:aa",
                "1800003600 1234 fd77::150 web1 00:01:00:01"), now);
        assertThat(leases).extracting(DhcpLeases.Lease::ip).containsExactly("10.77.0.101", "10.77.0.103", "fd77::150");
        assertThat(leases.get(0).hostname()).isEqualTo("web1");
        assertThat(leases.get(1).expires()).isNull();
        assertThat(leases.get(2).mac()).isNull();
        assertThat(leases.get(2).iaid()).isEqualTo("1234");
    }

    @Test
    void tapNamesFitInFifteenCharactersAndDifferPerNic() {
        assertThat(TapPlumbing.tapName("web1", "net0")).isEqualTo("jv-web1-net0");
        String a = TapPlumbing.tapName("a-very-long-vm-name", "net0");
        String b = TapPlumbing.tapName("a-very-long-vm-name", "net1");
        assertThat(a).hasSize(15).startsWith("jvaveryl-").isNotEqualTo(b);
        assertThat(TapPlumbing.tapName("x.y", "net10")).hasSizeLessThanOrEqualTo(15);
    }

    @Test
    void theDefaultNetworkAvoidsRoutesAndOtherNetworks() {
        List<Links.Route> routes = List.of(new Links.Route("default", "eth0", "default dev eth0"),
                new Links.Route("192.168.123.0/24", "eth1", "192.168.123.0/24 dev eth1"));
        NetworkDefinition d = NetworkRecovery.defaultDefinition(routes, List.of(
                NetworkValidator.validate(nat("x", "192.168.124.1/24"), List.of())));
        assertThat(d.ipv4().address()).isEqualTo("192.168.125.1/24");
        assertThat(d.autostart()).isTrue();
        assertThat(Cidr.parse("10.0.0.5/8").network()).isEqualTo("10.0.0.0/8");
        assertThat(Cidr.parse("10.0.0.5/8").overlaps(Cidr.parse("10.255.0.0/16"))).isTrue();
        assertThat(Cidr.parse("fd00::1/64").overlaps(Cidr.parse("fd00:0:0:1::/64"))).isFalse();
    }
}
