package io.jvirt.network;

import io.jvirt.vm.VmDefinition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The lines of a network's dnsmasq hosts file ({@code dhcp-hostsfile}, re-read on SIGHUP): each VM's first NIC on
 * the network gets the VM's name (so {@code VM.DOMAIN} resolves whatever the guest's DHCP client sends), static
 * leases by MAC or by VM get their address.
 */
final class DhcpHosts {
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    private DhcpHosts() {
    }

    static List<String> lines(NetworkDefinition d, List<VmDefinition> vms) {
        Map<String, List<String>> ips = new LinkedHashMap<>();
        Map<String, String> names = new LinkedHashMap<>();
        Map<String, String> vmMacs = new LinkedHashMap<>();
        for (VmDefinition vm : vms) {
            for (VmDefinition.Nic n : vm.nics()) {
                if ("network".equals(n.type()) && d.name().equals(n.network())) {
                    vmMacs.putIfAbsent(vm.name(), n.mac());
                    ips.putIfAbsent(n.mac(), new ArrayList<>());
                    if (LABEL.matcher(vm.name()).matches() && !names.containsKey(n.mac()) && vmMacs.get(vm.name()).equals(n.mac())) {
                        names.put(n.mac(), vm.name());
                    }
                }
            }
        }
        if (d.hosts() != null) {
            for (NetworkDefinition.Host h : d.hosts()) {
                String mac = h.mac() != null ? h.mac() : vmMacs.get(h.vm());
                if (mac == null) {
                    continue; // a VM not defined (yet) or without a NIC here
                }
                ips.computeIfAbsent(mac, m -> new ArrayList<>()).add(h.ip().contains(":") ? "[" + h.ip() + "]" : h.ip());
                if (h.name() != null) {
                    names.put(mac, h.name());
                }
            }
        }
        List<String> out = new ArrayList<>();
        ips.forEach((mac, addrs) -> {
            if (addrs.isEmpty() && !names.containsKey(mac)) {
                return; // nothing to say about it: a dynamic lease without a name
            }
            StringBuilder b = new StringBuilder(mac);
            addrs.forEach(a -> b.append(',').append(a));
            if (names.containsKey(mac)) {
                b.append(',').append(names.get(mac));
            }
            out.add(b.toString());
        });
        return out;
    }
}
