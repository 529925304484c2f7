package io.jvirt.network;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/** What the API shows of a network. {@code vms}: running VMs with a tap on it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NetworkView(String name, String kind, String bridge, boolean autostart, String state, String reason,
                          Instant since, NetworkDefinition definition, Long dnsmasqPid, String nftTable,
                          List<String> vms, Integer leases) {
}
