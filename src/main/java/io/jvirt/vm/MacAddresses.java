package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * MACs are unique across all VMs of the host: two guests with one MAC on one bridge would steal each other's
 * frames and DHCP leases. A MAC the user gave that another VM has is refused; a generated one is drawn again.
 */
final class MacAddresses {
    private MacAddresses() {
    }

    /** {@code checked} with every generated MAC free; throws {@link ErrorCode#MAC_IN_USE} for a given one in use. */
    static VmDefinition unique(VmDefinition input, VmDefinition checked, List<VmDefinition> others) {
        Map<String, String> owners = new HashMap<>();
        for (VmDefinition o : others) {
            if (!o.name().equals(checked.name())) {
                o.nics().forEach(n -> owners.put(n.mac(), o.name() + "/" + n.name()));
            }
        }
        List<VmDefinition.Nic> nics = new ArrayList<>();
        for (int i = 0; i < checked.nics().size(); i++) {
            VmDefinition.Nic n = checked.nics().get(i);
            boolean given = input.nics() != null && i < input.nics().size() && input.nics().get(i) != null
                    && input.nics().get(i).mac() != null;
            String mac = n.mac();
            while (owners.containsKey(mac)) {
                if (given) {
                    throw new JvirtException(ErrorCode.MAC_IN_USE, "NIC " + n.name() + ": MAC " + mac + " is already used by "
                            + owners.get(mac), Map.of("mac", mac, "usedBy", owners.get(mac)));
                }
                mac = DefinitionValidator.randomMac();
            }
            owners.put(mac, checked.name() + "/" + n.name());
            nics.add(new VmDefinition.Nic(n.name(), n.type(), n.model(), mac, n.network(), n.bridge(), n.forwards(), n.vhost()));
        }
        return checked.withNics(nics);
    }
}
