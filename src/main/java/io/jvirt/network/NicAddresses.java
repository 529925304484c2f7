package io.jvirt.network;

import io.jvirt.vm.VmDefinition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A NIC's addresses, each with where it came from. Today the one source is the DHCP server's lease database of a
 * managed network ({@code source: dhcp-lease}); a NIC on an admin's bridge or on user networking has none known.
 * The guest agent (a later issue) is the second source: it adds its answers here, marked {@code source: agent}.
 */
final class NicAddresses {
    private NicAddresses() {
    }

    static List<Map<String, Object>> of(NetworkService networks, VmDefinition.Nic nic) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (!"network".equals(nic.type())) {
            return out;
        }
        NetworkDefinition d;
        try {
            d = networks.find(nic.network());
        } catch (RuntimeException e) {
            return out; // the network was undefined since
        }
        if (!d.managed()) {
            return out;
        }
        for (DhcpLeases.Lease l : DhcpLeases.read(d.name(), networks.paths(d.name()).leases())) {
            if (nic.mac().equals(l.mac())) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("address", l.ip());
                m.put("source", "dhcp-lease");
                if (l.hostname() != null) {
                    m.put("hostname", l.hostname());
                }
                if (l.expires() != null) {
                    m.put("expires", l.expires().toString());
                }
                out.add(m);
            }
        }
        return out;
    }
}
