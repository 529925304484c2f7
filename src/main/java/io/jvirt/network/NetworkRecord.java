package io.jvirt.network;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * What a network has on the host, written durably before each thing is created and after each is removed, so a
 * restarted daemon knows what to adopt or clean up. {@code status}: {@code inactive}, {@code starting} (things
 * named here may exist), {@code active}, {@code stopping}. {@code bridgeCreated}: the bridge is jvirt's (deleted
 * on destroy); false for an admin's bridge. {@code forwarding}: jvirt turned IP forwarding on for it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record NetworkRecord(String status, String bridge, boolean bridgeCreated, String nftTable, Long dnsmasqPid,
                     boolean forwarding, Instant since, String reason) {
    static final String INACTIVE = "inactive";
    static final String STARTING = "starting";
    static final String ACTIVE = "active";
    static final String STOPPING = "stopping";

    static NetworkRecord inactive(String reason) {
        return new NetworkRecord(INACTIVE, null, false, null, null, false, Instant.now(), reason);
    }

    NetworkRecord withStatus(String s, String why) {
        return new NetworkRecord(s, bridge, bridgeCreated, nftTable, dnsmasqPid, forwarding, Instant.now(), why);
    }

    NetworkRecord withDnsmasq(Long pid) {
        return new NetworkRecord(status, bridge, bridgeCreated, nftTable, pid, forwarding, since, reason);
    }

    boolean active() {
        return ACTIVE.equals(status);
    }
}
