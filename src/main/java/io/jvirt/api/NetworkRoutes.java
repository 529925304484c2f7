package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.network.NetworkDefinition;
import io.jvirt.network.NetworkService;
import java.util.Map;

/** /v1/networks: define, list, inspect, start, destroy, undefine, autostart, DHCP leases. */
final class NetworkRoutes {
    private final NetworkService networks;

    NetworkRoutes(NetworkService networks) {
        this.networks = networks;
    }

    /** Body of POST .../autostart. */
    record AutostartRequest(Boolean autostart) {
    }

    void register(Router r) {
        r.add("GET", "/v1/networks", ex -> ex.json(200, networks.list()));
        r.add("POST", "/v1/networks", ex -> ex.json(201, networks.define(
                ex.bodyAs(NetworkDefinition.class, ErrorCode.INVALID_NETWORK))));
        r.add("GET", "/v1/networks/{net}", ex -> ex.json(200, networks.get(ex.param("net"))));
        r.add("DELETE", "/v1/networks/{net}", ex -> {
            networks.undefine(ex.param("net"));
            ex.json(200, Map.of("undefined", ex.param("net")));
        });
        r.add("POST", "/v1/networks/{net}/start", ex -> ex.json(200, networks.start(ex.param("net"))));
        r.add("POST", "/v1/networks/{net}/destroy", ex -> ex.json(200, networks.destroy(ex.param("net"))));
        r.add("POST", "/v1/networks/{net}/autostart", ex -> {
            networks.get(ex.param("net"));
            AutostartRequest req = ex.bodyAs(AutostartRequest.class, ErrorCode.INVALID_ARGUMENT);
            if (req.autostart() == null) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "give {\"autostart\": true} or {\"autostart\": false}");
            }
            ex.json(200, networks.autostart(ex.param("net"), req.autostart()));
        });
        r.add("GET", "/v1/networks/{net}/leases", ex -> ex.json(200, networks.leases(ex.param("net"))));
    }
}
