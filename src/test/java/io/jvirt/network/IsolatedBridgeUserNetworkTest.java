package io.jvirt.network;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import io.jvirt.testing.TestNetns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The other kinds, in a namespace of their own with "the outside" across a veth: an isolated network (guest and
 * host reach each other, the guest does not get out), a bridge network on a bridge the test made (jvirt adds only
 * taps and leaves the bridge), a NIC naming that bridge directly, and user networking with a port forward.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IsolatedBridgeUserNetworkTest {
    static final Duration LEASE_TIMEOUT = Duration.ofSeconds(90);
    TestNetns ns;
    DaemonProcess daemon;
    TestHttp api;
    Path www;

    @BeforeAll
    void setUp() throws Exception {
        ns = TestNetns.create("iso");
        www = Files.createTempDirectory("jvirt-www-");
        Files.writeString(www.resolve("outside.txt"), "hello-from-outside\n");
        ns.spawn(ns.outside, "busybox", "httpd", "-f", "-p", TestNetns.OUTSIDE_ADDRESS + ":8080", "-h", www.toString());
        // the admin's bridge, with the host's address on it and no DHCP
        ns.execOk(ns.inside, "ip", "link", "add", "jvt-br", "type", "bridge");
        ns.execOk(ns.inside, "ip", "address", "add", "10.80.0.1/24", "dev", "jvt-br");
        ns.execOk(ns.inside, "ip", "link", "set", "jvt-br", "up");
        daemon = DaemonProcess.startInNamespace(ns.inside, "--no-default-network");
        api = daemon.http();
    }

    @AfterAll
    void tearDown() throws Exception {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
            if (www != null) {
                Files.deleteIfExists(www.resolve("outside.txt"));
                Files.deleteIfExists(www);
            }
        }
    }

    private String define(ObjectNode vm) {
        TestHttp.Response r = api.post("/v1/vms", vm);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        TestHttp.Response s = api.post("/v1/vms/" + vm.path("name").asText() + "/start?wait=true");
        assertThat(s.status()).as(s.toString()).isEqualTo(200);
        return r.json().path("definition").path("nics").path(0).path("mac").asText();
    }

    private static ObjectNode vm(String name, String field, String value) {
        ObjectNode d = TestGuest.definition(name);
        d.putArray("nics").addObject().put("name", "net0").put(field, value);
        return d;
    }

    @Test
    void isolatedBridgeAndUserNetworks() throws Exception {
        assertThat(api.get("/v1/networks").json()).as("--no-default-network").isEmpty();
        assertThat(api.post("/v1/networks", "{\"name\": \"iso\", \"kind\": \"isolated\", \"ipv4\": {\"address\": \"10.79.0.1/24\"}}")
                .status()).isEqualTo(201);
        assertThat(api.post("/v1/networks/iso/start").json().path("state").asText()).isEqualTo("active");
        assertThat(api.post("/v1/networks", "{\"name\": \"lan\", \"kind\": \"bridge\", \"bridge\": \"jvt-br\"}").status()).isEqualTo(201);
        assertThat(api.post("/v1/networks/lan/start").json().path("state").asText()).isEqualTo("active");

        String isoMac = define(vm("i1", "network", "iso"));
        define(vm("b1", "network", "lan"));
        define(vm("b2", "bridge", "jvt-br"));
        ObjectNode u = TestGuest.definition("u1");
        u.putArray("nics").addObject().put("name", "net0").put("type", "user").putArray("forwards").addObject()
                .put("proto", "tcp").put("hostPort", 18080).put("guestPort", 8080);
        define(u);

        JsonNode lease = GuestShell.awaitLease(api, "iso", isoMac, LEASE_TIMEOUT);
        String isoIp = lease.path("ip").asText();
        try (GuestShell i1 = GuestShell.open(api, "i1"); GuestShell b1 = GuestShell.open(api, "b1");
             GuestShell b2 = GuestShell.open(api, "b2"); GuestShell u1 = GuestShell.open(api, "u1")) {
            // isolated: guest <-> host, but no way out (no router handed out, forwarding rejected)
            assertThat(i1.awaitAddress("eth0", LEASE_TIMEOUT)).isEqualTo(isoIp);
            assertThat(ns.exec(ns.inside, "busybox", "ping", "-c", "1", "-W", "5", isoIp).exit()).isZero();
            assertThat(i1.run("ping -c 1 -W 5 10.79.0.1")).contains("RC=0");
            assertThat(i1.run("ip route")).doesNotContain("default");
            i1.run("ip route add default via 10.79.0.1");
            assertThat(i1.run("wget -q -T 3 -O - http://" + TestNetns.OUTSIDE_ADDRESS + ":8080/outside.txt"))
                    .doesNotContain("hello-from-outside").doesNotContain("RC=0");

            // bridge network and a NIC on the bridge itself: taps on the admin's bridge, addresses are the admin's
            assertThat(ns.execOk(ns.inside, "ip", "-d", "link", "show", "dev", "jv-b1-net0")).contains("master jvt-br");
            assertThat(ns.execOk(ns.inside, "ip", "-d", "link", "show", "dev", "jv-b2-net0")).contains("master jvt-br");
            b1.run("ip addr add 10.80.0.11/24 dev eth0");
            b2.run("ip addr add 10.80.0.12/24 dev eth0");
            assertThat(b1.run("ping -c 1 -W 5 10.80.0.1")).contains("RC=0");
            assertThat(b1.run("ping -c 1 -W 5 10.80.0.12")).contains("RC=0");
            assertThat(ns.exec(ns.inside, "busybox", "ping", "-c", "1", "-W", "5", "10.80.0.12").exit()).isZero();
            assertThat(api.get("/v1/vms/b2").json().path("nics").path(0).path("bridge").asText()).isEqualTo("jvt-br");

            // user networking: a port forward on the daemon's loopback
            u1.run("httpd -p 8080 -h /etc");
            assertThat(ns.execOk(ns.inside, "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:18080/hostname"))
                    .contains("jvirt-guest");
        }

        assertThat(api.post("/v1/networks/lan/destroy").errorCode()).isEqualTo("network-in-use");
        for (String vm : List.of("i1", "b1", "b2", "u1")) {
            assertThat(api.post("/v1/vms/" + vm + "/destroy").status()).isEqualTo(200);
        }
        assertThat(api.post("/v1/networks/lan/destroy").json().path("state").asText()).isEqualTo("inactive");
        assertThat(api.post("/v1/networks/iso/destroy").json().path("state").asText()).isEqualTo("inactive");
        String links = ns.execOk(ns.inside, "ip", "-o", "link", "show");
        assertThat(links).as("the admin's bridge stays").contains("jvt-br");
        assertThat(links).doesNotContain("jv-iso").doesNotContain("jv-b1").doesNotContain("jv-b2").doesNotContain("jv-i1");
        assertThat(ns.execOk(ns.inside, "nft", "list", "ruleset")).doesNotContain("jvirt-");
        assertThat(ns.processes(ns.inside, "dnsmasq")).isEmpty();
    }
}
