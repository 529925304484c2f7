package io.jvirt.network;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.cli.JvirtCli;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import io.jvirt.testing.TestNetns;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A nat network end to end, with a daemon in a network namespace of its own and a second namespace as "the
 * outside" (a web server there): DHCP leases, names in DNS, host to guest, guest to outside through NAT, guest to
 * guest; a kill -9 of the daemon (adopted, not duplicated) and of dnsmasq (it comes back); destroy leaves nothing;
 * bad input changes nothing. The host's own namespace is checked unchanged at the end (TestNetns).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NatNetworkTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration LEASE_TIMEOUT = Duration.ofSeconds(90);
    TestNetns ns;
    DaemonProcess daemon;
    TestHttp api;
    Path www;
    final Map<String, String> macs = new java.util.HashMap<>();
    final Map<String, String> ips = new java.util.HashMap<>();

    @BeforeAll
    void setUp() throws Exception {
        ns = TestNetns.create("nat");
        www = Files.createTempDirectory("jvirt-www-");
        Files.writeString(www.resolve("outside.txt"), "hello-from-outside\n");
        ns.spawn(ns.outside, "busybox", "httpd", "-f", "-p", TestNetns.OUTSIDE_ADDRESS + ":8080", "-h", www.toString());
        daemon = DaemonProcess.startInNamespace(ns.inside);
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

    static ObjectNode vmOn(String name, String network) {
        ObjectNode d = TestGuest.definition(name);
        d.putArray("nics").addObject().put("name", "net0").put("network", network);
        return d;
    }

    String cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> argv = new ArrayList<>(List.of("--socket", daemon.socket().toString()));
        argv.addAll(List.of(args));
        int code = JvirtCli.run(argv.toArray(String[]::new), new PrintStream(out, true), new PrintStream(err, true));
        assertThat(code).as("jvirt %s: %s", String.join(" ", args), err.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    @Order(1)
    void theDefaultNetworkIsCreatedAndStartedInsideTheNamespace() {
        JsonNode def = api.get("/v1/networks/default").json();
        assertThat(def.path("state").asText()).isEqualTo("active");
        assertThat(def.path("kind").asText()).isEqualTo("nat");
        assertThat(def.path("autostart").asBoolean()).isTrue();
        assertThat(def.path("definition").path("ipv4").path("address").asText()).isEqualTo("192.168.123.1/24");
        assertThat(ns.exec(ns.inside, "ip", "link", "show", "dev", "jv-default").exit()).isZero();
        assertThat(ns.execOk(ns.inside, "ip", "-4", "address", "show", "dev", "jv-default")).contains("192.168.123.1/24");
        assertThat(ns.exec(ns.inside, "nft", "list", "table", "inet", "jvirt-default").exit()).isZero();
        assertThat(ns.processes(ns.inside, "networks/default/dnsmasq.conf")).hasSize(1);
        assertThat(cli("net-list")).contains("default").contains("active");
    }

    @Test
    @Order(2)
    void vmsOnANatNetworkGetLeasesNamesAndAreReachable() throws Exception {
        String lab = """
                {"name": "lab", "kind": "nat", "ipv4": {"address": "10.77.0.1/24", "dhcp": {"start": "10.77.0.100", "end": "10.77.0.150"}},
                 "forwarders": [], "hosts": [{"vm": "web2", "ip": "10.77.0.50"}]}""";
        assertThat(api.post("/v1/networks", lab).status()).isEqualTo(201);
        JsonNode started = api.post("/v1/networks/lab/start").json();
        assertThat(started.path("state").asText()).as(started.toString()).isEqualTo("active");
        assertThat(started.path("bridge").asText()).isEqualTo("jv-lab");
        for (String vm : List.of("web1", "web2")) {
            TestHttp.Response r = api.post("/v1/vms", vmOn(vm, "lab"));
            assertThat(r.status()).as(r.toString()).isEqualTo(201);
            macs.put(vm, r.json().path("definition").path("nics").path(0).path("mac").asText());
            TestHttp.Response s = api.post("/v1/vms/" + vm + "/start?wait=true");
            assertThat(s.status()).as(s.toString()).isEqualTo(200);
        }
        JsonNode lease1 = GuestShell.awaitLease(api, "lab", macs.get("web1"), LEASE_TIMEOUT);
        JsonNode lease2 = GuestShell.awaitLease(api, "lab", macs.get("web2"), LEASE_TIMEOUT);
        assertThat(lease2.path("ip").asText()).as("static lease by VM name").isEqualTo("10.77.0.50");
        String ip1 = lease1.path("ip").asText();
        assertThat(ip1).startsWith("10.77.0.1");
        assertThat(Integer.parseInt(ip1.substring(ip1.lastIndexOf('.') + 1))).isBetween(100, 150);
        assertThat(lease1.path("hostname").asText()).isEqualTo("web1");
        ips.put("web1", ip1);
        ips.put("web2", "10.77.0.50");

        JsonNode nic = api.get("/v1/vms/web1").json().path("nics").path(0);
        assertThat(nic.path("tap").asText()).isEqualTo("jv-web1-net0");
        assertThat(nic.path("network").asText()).isEqualTo("lab");
        assertThat(nic.path("mac").asText()).isEqualTo(macs.get("web1"));
        assertThat(nic.path("addresses").path(0).path("address").asText()).isEqualTo(ip1);
        assertThat(nic.path("addresses").path(0).path("source").asText()).isEqualTo("dhcp-lease");
        assertThat(cli("net-dhcp-leases", "lab")).contains(macs.get("web1")).contains(ip1).contains("10.77.0.50");
        assertThat(cli("info", "web1")).contains("tap=jv-web1-net0").contains(ip1 + " (dhcp-lease)");
        assertThat(ns.execOk(ns.inside, "ip", "-d", "link", "show", "dev", "jv-web1-net0")).contains("master jv-lab");

        try (GuestShell web1 = GuestShell.open(api, "web1"); GuestShell web2 = GuestShell.open(api, "web2")) {
            assertThat(web1.awaitAddress("eth0", LEASE_TIMEOUT)).isEqualTo(ip1);
            assertThat(web2.awaitAddress("eth0", LEASE_TIMEOUT)).isEqualTo("10.77.0.50");
            // host -> guest: ICMP and a TCP port (busybox httpd in the guest)
            assertThat(ns.exec(ns.inside, "busybox", "ping", "-c", "1", "-W", "5", ip1).exit()).isZero();
            web1.run("httpd -p 8080 -h /etc");
            assertThat(ns.execOk(ns.inside, "busybox", "wget", "-q", "-O", "-", "http://" + ip1 + ":8080/hostname"))
                    .contains("jvirt-guest");
            // guest -> outside through NAT: the outside namespace has no route back to 10.77.0.0/24
            assertThat(ns.execOk(ns.outside, "ip", "route")).doesNotContain("10.77.");
            assertThat(web1.run("wget -q -O - http://" + TestNetns.OUTSIDE_ADDRESS + ":8080/outside.txt"))
                    .contains("hello-from-outside").contains("RC=0");
            // guest <-> guest, and DNS by name
            assertThat(web1.run("ping -c 1 -W 5 10.77.0.50")).contains("RC=0");
            assertThat(web2.run("ping -c 1 -W 5 " + ip1)).contains("RC=0");
            assertThat(web1.run("nslookup web2.lab")).contains("10.77.0.50");
            assertThat(web2.run("nslookup web1.lab")).contains(ip1);
        }
    }

    @Test
    @Order(3)
    void aKilledDaemonAdoptsTheNetworkAndAKilledDnsmasqComesBack() throws Exception {
        JsonNode before = api.get("/v1/networks/lab").json();
        long dnsmasq = before.path("dnsmasqPid").asLong();
        String ifindex = ns.execOk(ns.inside, "cat", "/sys/class/net/jv-lab/ifindex").strip();
        JsonNode leasesBefore = api.get("/v1/networks/lab/leases").json();

        daemon.kill9();
        daemon.restart();
        api = daemon.http();

        JsonNode after = api.get("/v1/networks/lab").json();
        assertThat(after.path("state").asText()).isEqualTo("active");
        assertThat(after.path("dnsmasqPid").asLong()).as("dnsmasq adopted, not restarted").isEqualTo(dnsmasq);
        assertThat(ns.execOk(ns.inside, "cat", "/sys/class/net/jv-lab/ifindex").strip()).as("same bridge").isEqualTo(ifindex);
        assertThat(ns.processes(ns.inside, "networks/lab/dnsmasq.conf")).hasSize(1);
        String tables = ns.execOk(ns.inside, "nft", "list", "tables");
        assertThat(tables.split("jvirt-lab", -1).length - 1).as(tables).isEqualTo(1);
        assertThat(api.get("/v1/networks/lab/leases").json()).isEqualTo(leasesBefore);
        for (String vm : List.of("web1", "web2")) {
            assertThat(api.get("/v1/vms/" + vm).json().path("state").asText()).isEqualTo("running");
            assertThat(ns.exec(ns.inside, "busybox", "ping", "-c", "1", "-W", "5", ips.get(vm)).exit()).as(vm).isZero();
        }

        ProcessHandle.of(dnsmasq).orElseThrow().destroyForcibly();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long replaced;
        while (true) {
            replaced = api.get("/v1/networks/lab").json().path("dnsmasqPid").asLong();
            if (replaced != 0 && replaced != dnsmasq) {
                break;
            }
            assertThat(System.nanoTime()).as("dnsmasq restarted").isLessThan(deadline);
            Thread.sleep(100);
        }
        assertThat(io.jvirt.qemu.ProcessInfo.isRunning(replaced)).isTrue();
        assertThat(ns.processes(ns.inside, "networks/lab/dnsmasq.conf")).hasSize(1);
        try (GuestShell web1 = GuestShell.open(api, "web1")) {
            assertThat(web1.run("nslookup web2.lab")).as("the new dnsmasq knows the VMs' names").contains("10.77.0.50");
        }
    }

    @Test
    @Order(4)
    void destroyIsRefusedWhileVmsRunAndThenLeavesNothingBehind() {
        TestHttp.Response busy = api.post("/v1/networks/lab/destroy");
        assertThat(busy.status()).isEqualTo(409);
        assertThat(busy.errorCode()).isEqualTo("network-in-use");
        assertThat(busy.text()).contains("web1").contains("web2");
        assertThat(api.delete("/v1/networks/lab").errorCode()).isEqualTo("network-in-use");
        for (String vm : List.of("web1", "web2")) {
            assertThat(api.post("/v1/vms/" + vm + "/destroy").status()).isEqualTo(200);
            assertThat(ns.exec(ns.inside, "ip", "link", "show", "dev", "jv-" + vm + "-net0").exit()).as("tap of " + vm).isNotZero();
        }
        JsonNode destroyed = api.post("/v1/networks/lab/destroy").json();
        assertThat(destroyed.path("state").asText()).isEqualTo("inactive");
        assertThat(ns.exec(ns.inside, "ip", "link", "show", "dev", "jv-lab").exit()).as("bridge").isNotZero();
        assertThat(ns.execOk(ns.inside, "ip", "-o", "link", "show")).doesNotContain("jv-lab").doesNotContain("jv-web");
        assertThat(ns.processes(ns.inside, "networks/lab/dnsmasq.conf")).isEmpty();
        assertThat(ns.execOk(ns.inside, "ps", "-eo", "pid,args")).doesNotContain("networks/lab/");
        assertThat(ns.execOk(ns.inside, "nft", "list", "ruleset")).doesNotContain("jvirt-lab").contains("jvirt-default");
        assertThat(api.delete("/v1/networks/lab").status()).isEqualTo(200);
        assertThat(api.get("/v1/networks/lab").errorCode()).isEqualTo("network-not-found");
    }

    @Test
    @Order(5)
    void badInputIsRefusedClearlyAndChangesNothing() {
        String links = ns.execOk(ns.inside, "ip", "-o", "link", "show");
        String rules = ns.execOk(ns.inside, "nft", "list", "ruleset");
        record Case(String body, int status, String code, String says) {
        }
        List<Case> cases = List.of(
                new Case("{\"name\": \"ov\", \"ipv4\": {\"address\": \"192.168.0.1/16\"}}", 409, "network-conflict", "network 'default'"),
                new Case("{\"name\": \"bad1\", \"ipv4\": {\"address\": \"10.90.0.1/24\", \"dhcp\": {\"start\": \"10.91.0.10\", \"end\": \"10.91.0.20\"}}}",
                        400, "invalid-network", "not inside the subnet 10.90.0.0/24"),
                new Case("{\"name\": \"bad2\", \"bridge\": \"" + ns.veth + "0\", \"ipv4\": {\"address\": \"10.92.0.1/24\"}}", 409,
                        "network-conflict", "in use by an existing veth"),
                new Case("{\"name\": \"bad3\", \"ipv4\": {\"address\": \"10.93.0.0/24\"}}", 400, "invalid-network", "network address"),
                new Case("{\"name\": \"bad4\", \"ipv4\": {\"address\": \"10.94.0.1/24\"}, \"dns\": 1}", 400, "invalid-network", "'dns'"),
                new Case("{\"name\": \"a/b\", \"ipv4\": {\"address\": \"10.95.0.1/24\"}}", 400, "invalid-name", "invalid network name"),
                new Case("{\"name\": \"bad5\", \"kind\": \"bridge\", \"bridge\": \"br9\", \"ipv4\": {\"address\": \"10.96.0.1/24\"}}", 400,
                        "invalid-network", "only names the admin's bridge"));
        for (Case c : cases) {
            TestHttp.Response r = api.post("/v1/networks", c.body());
            assertThat(r.status()).as(c.body() + " -> " + r).isEqualTo(c.status());
            assertThat(r.errorCode()).as(r.toString()).isEqualTo(c.code());
            assertThat(r.json().path("error").path("message").asText()).as(r.toString()).contains(c.says());
        }
        // A subnet that collides with the host's routes (the veth's 10.78.0.0/24) is refused at start, naming the route.
        assertThat(api.post("/v1/networks", "{\"name\": \"clash\", \"ipv4\": {\"address\": \"10.78.0.129/25\"}}").status()).isEqualTo(201);
        TestHttp.Response clash = api.post("/v1/networks/clash/start");
        assertThat(clash.status()).as(clash.toString()).isEqualTo(409);
        assertThat(clash.errorCode()).isEqualTo("network-conflict");
        assertThat(clash.text()).contains("10.78.0.0/24 dev " + ns.veth + "0");
        assertThat(api.get("/v1/networks/clash").json().path("state").asText()).isEqualTo("inactive");
        assertThat(api.delete("/v1/networks/clash").status()).isEqualTo(200);

        // VM side: a MAC another VM has, and a network that does not exist.
        ObjectNode first = vmOn("macvm1", "default");
        TestHttp.Response r1 = api.post("/v1/vms", first);
        assertThat(r1.status()).isEqualTo(201);
        String mac = r1.json().path("definition").path("nics").path(0).path("mac").asText();
        ObjectNode second = vmOn("macvm2", "default");
        ((ObjectNode) second.path("nics").path(0)).put("mac", mac.toUpperCase());
        TestHttp.Response r2 = api.post("/v1/vms", second);
        assertThat(r2.status()).isEqualTo(409);
        assertThat(r2.errorCode()).isEqualTo("mac-in-use");
        assertThat(r2.text()).contains("macvm1/net0");
        TestHttp.Response r3 = api.post("/v1/vms", vmOn("nonet", "nosuch"));
        assertThat(r3.errorCode()).isEqualTo("network-not-found");
        ObjectNode fwd = vmOn("fwdtap", "default");
        ((ObjectNode) fwd.path("nics").path(0)).putArray("forwards").addObject().put("hostPort", 1).put("guestPort", 2);
        assertThat(api.post("/v1/vms", fwd).errorCode()).isEqualTo("invalid-definition");
        assertThat(api.delete("/v1/vms/macvm1").status()).isEqualTo(200);
        assertThat(api.get("/v1/vms/macvm2").status()).isEqualTo(404);

        assertThat(ns.execOk(ns.inside, "ip", "-o", "link", "show")).isEqualTo(links);
        assertThat(ns.execOk(ns.inside, "nft", "list", "ruleset")).isEqualTo(rules);
        assertThat(api.get("/v1/networks").json()).hasSize(1);
    }

    @Test
    @Order(6)
    void afterAHostRebootAutostartNetworksComeBackAndTapsOfDeadVmsAreRemoved() throws Exception {
        assertThat(api.post("/v1/vms", vmOn("crashy", "default")).status()).isEqualTo(201);
        assertThat(api.post("/v1/vms/crashy/start?wait=true").status()).isEqualTo(200);
        String tap = api.get("/v1/vms/crashy").json().path("nics").path(0).path("tap").asText();
        assertThat(ns.exec(ns.inside, "ip", "link", "show", "dev", tap).exit()).isZero();
        long qemu = api.get("/v1/vms/crashy").json().path("runtime").path("pid").asLong();
        long dnsmasq = api.get("/v1/networks/default").json().path("dnsmasqPid").asLong();

        // What a reboot leaves: the records say active, but no process, bridge or table exists any more.
        daemon.kill9();
        for (long pid : List.of(qemu, dnsmasq)) {
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            DaemonProcess.awaitGone(pid, Duration.ofSeconds(10));
        }
        ns.execOk(ns.inside, "ip", "link", "del", "dev", "jv-default");
        ns.execOk(ns.inside, "nft", "delete", "table", "inet", "jvirt-default");
        daemon.restart();
        api = daemon.http();

        JsonNode def = api.get("/v1/networks/default").json();
        assertThat(def.path("state").asText()).as(def.toString()).isEqualTo("active");
        assertThat(def.path("dnsmasqPid").asLong()).isNotEqualTo(dnsmasq).isPositive();
        assertThat(ns.execOk(ns.inside, "ip", "-4", "address", "show", "dev", "jv-default")).contains("192.168.123.1/24");
        assertThat(ns.exec(ns.inside, "nft", "list", "table", "inet", "jvirt-default").exit()).isZero();
        assertThat(ns.processes(ns.inside, "networks/default/dnsmasq.conf")).hasSize(1);
        assertThat(api.get("/v1/vms/crashy").json().path("state").asText()).isEqualTo("crashed");
        assertThat(ns.exec(ns.inside, "ip", "link", "show", "dev", tap).exit()).as("tap of the dead VM").isNotZero();
        // and the VM starts again on the restarted network
        assertThat(api.post("/v1/vms/crashy/start?wait=true").status()).isEqualTo(200);
        GuestShell.awaitLease(api, "default", api.get("/v1/vms/crashy").json().path("nics").path(0).path("mac").asText(),
                LEASE_TIMEOUT);
        assertThat(api.post("/v1/vms/crashy/destroy").status()).isEqualTo(200);
    }
}
