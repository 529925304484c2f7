package io.jvirt.network;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * jvirt's nftables table of one network ({@code table inet jvirt-NAME}): forwarding for the bridge and, for a nat
 * network, masquerading of its subnet. Only this table is ever written or deleted; nobody else's rules are
 * flushed or reordered. The rules are applied from a file in one {@code nft -f} transaction (all or nothing).
 */
final class Nftables {
    private Nftables() {
    }

    /** The table's text: declared, emptied and filled in one transaction, so applying it twice is harmless. */
    static String render(NetworkDefinition d) {
        String table = d.nftTable();
        String br = quoted(d.bridge());
        Cidr v4 = Cidr.parse(d.ipv4() == null ? null : d.ipv4().address());
        Cidr v6 = Cidr.parse(d.ipv6() == null ? null : d.ipv6().address());
        boolean nat = NetworkDefinition.NAT.equals(d.kind());
        StringBuilder b = new StringBuilder();
        b.append("# written by jvirtd for network ").append(d.name()).append('\n');
        b.append("table inet ").append(table).append('\n');
        b.append("delete table inet ").append(table).append('\n');
        b.append("table inet ").append(table).append(" {\n");
        b.append("  chain forward {\n");
        b.append("    type filter hook forward priority filter; policy accept;\n");
        b.append("    iifname ").append(br).append(" oifname ").append(br).append(" accept\n");
        if (nat) {
            if (v4 != null) {
                b.append("    oifname ").append(br).append(" ip daddr ").append(v4.network()).append(" ct state established,related accept\n");
                b.append("    iifname ").append(br).append(" ip saddr ").append(v4.network()).append(" accept\n");
            }
            if (v6 != null) { // IPv6 is routed, not translated
                b.append("    oifname ").append(br).append(" ip6 daddr ").append(v6.network()).append(" ct state established,related accept\n");
                b.append("    iifname ").append(br).append(" ip6 saddr ").append(v6.network()).append(" accept\n");
            }
        }
        b.append("    iifname ").append(br).append(" reject\n");
        b.append("    oifname ").append(br).append(" reject\n");
        b.append("  }\n");
        if (nat && v4 != null) {
            String net = v4.network();
            b.append("  chain postrouting {\n");
            b.append("    type nat hook postrouting priority srcnat; policy accept;\n");
            b.append("    ip saddr ").append(net).append(" ip daddr 224.0.0.0/24 return\n");
            b.append("    ip saddr ").append(net).append(" ip daddr 255.255.255.255 return\n");
            b.append("    ip saddr ").append(net).append(" ip daddr != ").append(net).append(" masquerade\n");
            b.append("  }\n");
        }
        b.append("}\n");
        return b.toString();
    }

    static void apply(NetworkDefinition d, Path file) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, render(d));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        HostCommand.check("nft", "-f", file.toString());
    }

    static boolean exists(String table) {
        return HostCommand.run("nft", "list", "table", "inet", table).ok();
    }

    /** Deletes the table; one that is not there is fine. */
    static void delete(String table) {
        HostCommand.Result r = HostCommand.run("nft", "delete", "table", "inet", table);
        if (!r.ok() && exists(table)) {
            throw HostCommand.failed("nft", new String[] {"delete", "table", "inet", table}, r);
        }
    }

    private static String quoted(String iface) {
        return "\"" + iface + "\""; // IFACE_NAME allows no quote or backslash
    }
}
