package io.jvirt.network;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.DefinitionValidator;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a network definition at the edge and fills in defaults; pure logic (what the host has is checked at
 * start: routes, interfaces). Every value that reaches ip, nft or dnsmasq's config passed a strict pattern here.
 */
final class NetworkValidator {
    private static final Pattern DOMAIN = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    private static final Set<String> KINDS = Set.of(NetworkDefinition.NAT, NetworkDefinition.ISOLATED, NetworkDefinition.BRIDGE);

    private NetworkValidator() {
    }

    static String checkName(String name) {
        if (name == null || !DefinitionValidator.NETWORK_NAME.matcher(name).matches()) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "invalid network name '" + printable(name)
                    + "': use 1-32 letters, digits, '_' or '-', starting with a letter or digit",
                    Map.of("name", printable(name)));
        }
        return name;
    }

    /** The definition with defaults filled in; {@code others} are the other defined networks. */
    static NetworkDefinition validate(NetworkDefinition d, Collection<NetworkDefinition> others) {
        if (d == null) {
            throw invalid("the network definition is empty");
        }
        String name = checkName(d.name());
        String kind = d.kind() == null ? NetworkDefinition.NAT : d.kind().toLowerCase(Locale.ROOT);
        if (!KINDS.contains(kind)) {
            throw invalid("kind must be nat, isolated or bridge, got '" + printable(d.kind()) + "'");
        }
        String bridge = d.bridge();
        if (bridge == null && !kind.equals(NetworkDefinition.BRIDGE) && name.length() <= 12) {
            bridge = "jv-" + name;
        }
        if (bridge == null || !DefinitionValidator.IFACE_NAME.matcher(bridge).matches()) {
            throw invalid("bridge must name a Linux interface (1-15 letters, digits, '_', '.' or '-')"
                    + (bridge == null ? "; a " + kind + " network whose name is longer than 12 characters needs one" : ", got '" + printable(bridge) + "'"));
        }
        boolean autostart = Boolean.TRUE.equals(d.autostart());
        if (kind.equals(NetworkDefinition.BRIDGE)) {
            if (d.ipv4() != null || d.ipv6() != null || d.hosts() != null || d.domain() != null || d.forwarders() != null) {
                throw invalid("a bridge network only names the admin's bridge: its addresses, DHCP and DNS are the admin's "
                        + "(no ipv4, ipv6, hosts, domain or forwarders)");
            }
            NetworkDefinition out = new NetworkDefinition(name, kind, bridge, autostart, null, null, null, null, null);
            checkAgainst(out, others);
            return out;
        }
        if (d.ipv4() == null && (kind.equals(NetworkDefinition.NAT) || d.ipv6() == null)) {
            throw invalid("a " + kind + " network needs ipv4 (e.g. {address: 10.77.0.1/24})");
        }
        NetworkDefinition.Ip v4 = d.ipv4() == null ? null : checkIp("ipv4", d.ipv4(), true);
        NetworkDefinition.Ip v6 = d.ipv6() == null ? null : checkIp("ipv6", d.ipv6(), false);
        String domain = d.domain() == null ? name.replace('_', '-') : d.domain();
        if (domain.length() > 253 || !DOMAIN.matcher(domain).matches()) {
            throw invalid("domain must be a DNS name, got '" + printable(domain) + "'");
        }
        List<String> forwarders = null;
        if (d.forwarders() != null) {
            if (d.forwarders().size() > 8) {
                throw invalid("at most 8 forwarders");
            }
            forwarders = new ArrayList<>();
            for (String f : d.forwarders()) {
                InetAddress a = Cidr.literal(f);
                if (a == null) {
                    throw invalid("forwarders: '" + printable(f) + "' is not an IP address");
                }
                forwarders.add(a.getHostAddress());
            }
            forwarders = List.copyOf(forwarders);
        }
        List<NetworkDefinition.Host> hosts = checkHosts(d.hosts(), v4, v6);
        NetworkDefinition out = new NetworkDefinition(name, kind, bridge, autostart, v4, v6, domain, forwarders, hosts);
        checkAgainst(out, others);
        return out;
    }

    private static NetworkDefinition.Ip checkIp(String field, NetworkDefinition.Ip ip, boolean v4) {
        Cidr c = Cidr.parse(ip.address());
        if (c == null || c.isV4() != v4) {
            throw invalid(field + ".address must be the host's " + (v4 ? "IPv4" : "IPv6") + " address with its prefix, e.g. "
                    + (v4 ? "10.77.0.1/24" : "fd77::1/64") + ", got '" + printable(ip.address()) + "'");
        }
        if (v4 ? c.prefix() < 8 || c.prefix() > 30 : c.prefix() < 64 || c.prefix() > 126) {
            throw invalid(field + ".address: the prefix must be between " + (v4 ? "8 and 30" : "64 and 126") + ", got /" + c.prefix());
        }
        if (c.address().isLoopbackAddress() || c.address().isMulticastAddress() || c.address().isLinkLocalAddress()
                || c.address().isAnyLocalAddress()) {
            throw invalid(field + ".address " + c.host() + " is not a unicast address a bridge can have");
        }
        BigInteger self = new BigInteger(1, c.address().getAddress());
        if (self.equals(c.first()) || (v4 && self.equals(c.last()))) {
            throw invalid(field + ".address " + c.host() + " is the subnet's " + (self.equals(c.first()) ? "network" : "broadcast")
                    + " address; give the host's own address, e.g. " + c.at(1).getHostAddress() + "/" + c.prefix());
        }
        NetworkDefinition.Range range = ip.dhcp();
        if (range == null && v4) {
            range = defaultRange(c);
        }
        if (range != null) {
            InetAddress start = Cidr.literal(range.start());
            InetAddress end = Cidr.literal(range.end());
            if (start == null || end == null || Cidr.bits(start) != Cidr.bits(c.address()) || Cidr.bits(end) != Cidr.bits(c.address())) {
                throw invalid(field + ".dhcp needs start and end " + (v4 ? "IPv4" : "IPv6") + " addresses");
            }
            boolean inside = c.contains(start) && c.contains(end) && Cidr.compare(start, c.at(0)) > 0
                    && (!v4 || Cidr.compare(end, c.at(-1)) < 0);
            if (!inside) {
                throw invalid(field + ".dhcp range " + start.getHostAddress() + "-" + end.getHostAddress()
                        + " is not inside the subnet " + c.network() + (v4 ? " (network and broadcast addresses excluded)" : ""));
            }
            if (Cidr.compare(start, end) > 0) {
                throw invalid(field + ".dhcp start " + start.getHostAddress() + " is after its end " + end.getHostAddress());
            }
            if (Cidr.compare(start, c.address()) <= 0 && Cidr.compare(c.address(), end) <= 0) {
                throw invalid(field + ".dhcp range " + start.getHostAddress() + "-" + end.getHostAddress()
                        + " contains the host's own address " + c.host());
            }
            range = new NetworkDefinition.Range(start.getHostAddress(), end.getHostAddress());
        }
        return new NetworkDefinition.Ip(c.toString(), range);
    }

    /** The whole subnet but the network, broadcast and host addresses (on the larger side of the host's address). */
    private static NetworkDefinition.Range defaultRange(Cidr c) {
        InetAddress lo = c.at(1);
        InetAddress hi = c.at(-2);
        if (c.address().equals(lo)) {
            lo = c.at(2);
        } else if (c.address().equals(hi)) {
            hi = c.at(-3);
        } else if (Cidr.span(c.address(), hi).compareTo(Cidr.span(lo, c.address())) >= 0) {
            lo = c.next(c.address(), 1);
        } else {
            hi = c.next(c.address(), -1);
        }
        return new NetworkDefinition.Range(lo.getHostAddress(), hi.getHostAddress());
    }

    private static List<NetworkDefinition.Host> checkHosts(List<NetworkDefinition.Host> in, NetworkDefinition.Ip v4,
                                                         NetworkDefinition.Ip v6) {
        if (in == null || in.isEmpty()) {
            return null;
        }
        List<NetworkDefinition.Host> out = new ArrayList<>();
        Set<String> ips = new HashSet<>();
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < in.size(); i++) {
            NetworkDefinition.Host h = in.get(i);
            String at = "hosts[" + i + "]";
            if (h == null || (h.mac() == null) == (h.vm() == null)) {
                throw invalid(at + " needs exactly one of mac or vm");
            }
            String mac = h.mac() == null ? null : h.mac().toLowerCase(Locale.ROOT);
            if (mac != null && !MAC.matcher(mac).matches()) {
                throw invalid(at + ".mac '" + printable(h.mac()) + "' is not a MAC address");
            }
            if (h.vm() != null) {
                DefinitionValidator.checkName(h.vm());
            }
            InetAddress ip = Cidr.literal(h.ip());
            NetworkDefinition.Ip family = ip == null ? null : Cidr.bits(ip) == 32 ? v4 : v6;
            Cidr subnet = family == null ? null : Cidr.parse(family.address());
            if (ip == null || subnet == null || !subnet.contains(ip) || ip.equals(subnet.address())
                    || ip.equals(subnet.at(0)) || (subnet.isV4() && ip.equals(subnet.at(-1)))) {
                throw invalid(at + ".ip '" + printable(h.ip()) + "' must be a free address inside the network's subnet");
            }
            if (!ips.add(ip.getHostAddress())) {
                throw invalid(at + ".ip " + ip.getHostAddress() + " is given twice");
            }
            String key = mac != null ? mac : "vm:" + h.vm();
            if (!keys.add(key + "/" + Cidr.bits(ip))) {
                throw invalid(at + ": " + (mac != null ? mac : "VM " + h.vm()) + " has two static leases");
            }
            if (h.name() != null && (!DOMAIN.matcher(h.name()).matches() || h.name().contains("."))) {
                throw invalid(at + ".name '" + printable(h.name()) + "' must be one DNS label");
            }
            out.add(new NetworkDefinition.Host(mac, h.vm(), ip.getHostAddress(), h.name()));
        }
        return List.copyOf(out);
    }

    /** Subnets and bridge names are the host's: two networks may not share either. */
    private static void checkAgainst(NetworkDefinition d, Collection<NetworkDefinition> others) {
        for (NetworkDefinition o : others) {
            if (o.name().equals(d.name())) {
                continue;
            }
            if (o.bridge().equals(d.bridge())) {
                throw conflict("bridge " + d.bridge() + " is already the bridge of network '" + o.name() + "'", o);
            }
            for (String[] pair : new String[][] {{ip(d.ipv4()), ip(o.ipv4())}, {ip(d.ipv6()), ip(o.ipv6())}}) {
                Cidr mine = Cidr.parse(pair[0]);
                Cidr theirs = Cidr.parse(pair[1]);
                if (mine != null && theirs != null && mine.overlaps(theirs)) {
                    throw conflict("subnet " + mine.network() + " overlaps " + theirs.network() + " of network '" + o.name() + "'", o);
                }
            }
        }
    }

    private static String ip(NetworkDefinition.Ip ip) {
        return ip == null ? null : ip.address();
    }

    private static JvirtException conflict(String message, NetworkDefinition other) {
        return new JvirtException(ErrorCode.NETWORK_CONFLICT, message, Map.of("network", other.name()));
    }

    static JvirtException invalid(String message) {
        return new JvirtException(ErrorCode.INVALID_NETWORK, message);
    }

    static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(100).forEach(c -> b.append(c < 0x20 || c == 0x7f ? "?" : Character.toString(c)));
        return b.toString();
    }
}
