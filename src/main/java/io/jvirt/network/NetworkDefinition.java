package io.jvirt.network;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a user defines: a network VMs' NICs attach to. Boxed fields may be null in input (defaults apply, see
 * {@link NetworkValidator}); a stored definition has them filled.
 *
 * <ul>
 *   <li>{@code kind} {@code nat}: a bridge jvirt creates, with the host's address on it, DHCP and DNS (dnsmasq),
 *       and outbound NAT (nftables); {@code isolated}: the same without NAT or forwarding; {@code bridge}: an
 *       existing Linux bridge the admin manages (jvirt creates only the taps).</li>
 *   <li>{@code ipv4}/{@code ipv6}: the host's address on the bridge with its prefix ({@code 10.77.0.1/24}) and an
 *       optional DHCP range inside the subnet.</li>
 *   <li>{@code hosts}: static leases, by MAC or by VM name (the VM's first NIC on this network).</li>
 *   <li>{@code forwarders}: upstream DNS servers; absent: the host's resolv.conf; empty: none (names outside the
 *       network's domain do not resolve).</li>
 * </ul>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NetworkDefinition(
        String name,
        String kind,
        String bridge,
        Boolean autostart,
        Ip ipv4,
        Ip ipv6,
        String domain,
        List<String> forwarders,
        List<Host> hosts) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Ip(String address, Range dhcp) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Range(String start, String end) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Host(String mac, String vm, String ip, String name) {
    }

    public static final String NAT = "nat";
    public static final String ISOLATED = "isolated";
    public static final String BRIDGE = "bridge";

    /** True for the kinds whose bridge, addresses, dnsmasq and rules jvirt creates. */
    boolean managed() {
        return !BRIDGE.equals(kind);
    }

    NetworkDefinition withAutostart(boolean on) {
        return new NetworkDefinition(name, kind, bridge, on, ipv4, ipv6, domain, forwarders, hosts);
    }

    /** The name of jvirt's nftables table for this network (family inet). */
    String nftTable() {
        return "jvirt-" + name;
    }
}
