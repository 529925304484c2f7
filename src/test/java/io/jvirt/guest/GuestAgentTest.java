package io.jvirt.guest;

import static io.jvirt.testing.AgentCalls.awaitAgent;
import static io.jvirt.testing.AgentCalls.ok;
import static io.jvirt.testing.AgentCalls.sh;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.cli.JvirtCli;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Every guest agent call against the real qemu-ga of the tiny guest, with jvirt's disk and NIC names. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuestAgentTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MAC = "52:54:00:4a:47:01";
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew();
        api = daemon.http();
        Path disk = TestGuest.newDisk(daemon.root().resolve("ga.qcow2"), "qcow2", "64M");
        ObjectNode d = TestGuest.definition("ga");
        d.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "qcow2");
        d.putArray("nics").addObject().put("name", "net0").put("mac", MAC);
        assertThat(api.post("/v1/vms", d).status()).isEqualTo(201);
        ok(api.post("/v1/vms/ga/start?wait=true"));
        awaitAgent(api, "ga");
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    @Order(1)
    void queries() {
        JsonNode info = ok(api.get("/v1/vms/ga/guest"));
        assertThat(info.path("answers").asBoolean()).isTrue();
        assertThat(info.path("version").asText()).matches("\\d+\\.\\d+.*");
        assertThat(info.path("commands").toString()).contains("guest-ping", "guest-exec", "guest-get-fsinfo");
        assertThat(ok(api.post("/v1/vms/ga/guest/ping")).path("answers").asBoolean()).isTrue();
        assertThat(ok(api.get("/v1/vms/ga/guest/osinfo")).path("id").asText()).isEqualTo("jvirt-tiny");
        assertThat(ok(api.get("/v1/vms/ga/guest/osinfo")).path("kernelRelease").asText()).endsWith("-amd64");
        assertThat(ok(api.get("/v1/vms/ga/guest/hostname")).path("hostname").asText()).isEqualTo("jvirt-guest");
        JsonNode users = ok(api.get("/v1/vms/ga/guest/users"));
        assertThat(users.findValuesAsText("user")).contains("root");
        assertThat(users.get(0).path("loginTime").asDouble()).isGreaterThan(1.5e9);
        JsonNode nics = ok(api.get("/v1/vms/ga/guest/interfaces"));
        JsonNode eth0 = find(nics, "name", "eth0");
        assertThat(eth0.path("nic").asText()).isEqualTo("net0");
        assertThat(eth0.path("mac").asText()).isEqualTo(MAC);
        assertThat(eth0.path("statistics").path("rxBytes").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(find(nics, "name", "lo").has("nic")).as("lo is none of the VM's NICs").isFalse();
        // bad input changes nothing and is said clearly
        assertThat(api.get("/v1/vms/nope/guest/osinfo").errorCode()).isEqualTo("vm-not-found");
        assertThat(api.get("/v1/vms/ga/guest/osinfo?agentTimeout=0").errorCode()).isEqualTo("invalid-argument");
        assertThat(api.post("/v1/vms/ga/guest/shutdown?mode=sideways").errorCode()).isEqualTo("invalid-argument");
    }

    @Test
    @Order(2)
    void timeIsSetFromTheHostClock() {
        JsonNode set = ok(api.post("/v1/vms/ga/guest/time"));
        assertThat(Math.abs(set.path("offsetMillis").asLong())).as(set.toString()).isLessThan(2000);
        assertThat(set.path("timezone").path("zone").asText()).isNotEmpty();
        JsonNode again = ok(api.get("/v1/vms/ga/guest/time"));
        assertThat(Math.abs(again.path("offsetMillis").asLong())).isLessThan(2000);
    }

    @Test
    @Order(3)
    void execGivesExitCodeAndOutput() throws Exception {
        JsonNode r = sh(api, "ga", "echo out-$((6*7)); echo err >&2; exit 7");
        assertThat(r.path("exited").asBoolean()).isTrue();
        assertThat(r.path("exitCode").asInt()).isEqualTo(7);
        assertThat(r.path("stdout").asText()).isEqualTo("out-42\n");
        assertThat(r.path("stderr").asText()).isEqualTo("err\n");
        // started without waiting, asked later
        JsonNode started = ok(api.post("/v1/vms/ga/guest/exec", JSON.valueToTree(Map.of("path", "/bin/sh",
                "args", List.of("-c", "read x; echo got-$x"), "input", "hello\n"))));
        long pid = started.path("pid").asLong();
        JsonNode status;
        do {
            Thread.sleep(50);
            status = ok(api.get("/v1/vms/ga/guest/exec/" + pid));
        } while (!status.path("exited").asBoolean());
        assertThat(status.path("stdout").asText()).isEqualTo("got-hello\n");
        assertThat(api.post("/v1/vms/ga/guest/exec", JSON.valueToTree(Map.of("args", List.of("x")))).errorCode())
                .isEqualTo("invalid-argument");
        // the CLI prints the output and exits with the command's code
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = JvirtCli.run(new String[] {"--socket", daemon.socket().toString(), "guest", "exec", "ga", "--wait", "--",
            "/bin/sh", "-c", "echo cli-$((40+2)); exit 5"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(5);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("cli-42\n");
    }

    @Test
    @Order(4)
    void fsinfoNamesTheVmDiskAndFreezeThaws() {
        JsonNode mounted = sh(api, "ga", "mke2fs -q /dev/vda >/dev/null && mkdir -p /mnt/d && mount /dev/vda /mnt/d && echo ok");
        assertThat(mounted.path("stdout").asText()).as(mounted.toString()).isEqualTo("ok\n");
        JsonNode fs = find(ok(api.get("/v1/vms/ga/guest/fsinfo")), "mountpoint", "/mnt/d");
        assertThat(fs.path("type").asText()).startsWith("ext");
        assertThat(fs.path("totalBytes").asLong()).isGreaterThan(30L << 20);
        assertThat(fs.path("disks").get(0).path("disk").asText()).isEqualTo("vda");
        assertThat(fs.path("disks").get(0).path("guestDevice").asText()).isEqualTo("/dev/vda");
        assertThat(ok(api.get("/v1/vms/ga/guest/fsfreeze")).path("status").asText()).isEqualTo("thawed");
        assertThat(ok(api.post("/v1/vms/ga/guest/fsfreeze/freeze")).path("filesystems").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(ok(api.get("/v1/vms/ga/guest/fsfreeze")).path("status").asText()).isEqualTo("frozen");
        assertThat(ok(api.post("/v1/vms/ga/guest/fsfreeze/thaw")).path("filesystems").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(ok(api.get("/v1/vms/ga/guest/fsfreeze")).path("status").asText()).isEqualTo("thawed");
        assertThat(sh(api, "ga", "echo w > /mnt/d/f && sync && cat /mnt/d/f").path("stdout").asText()).isEqualTo("w\n");
    }

    @Test
    @Order(5)
    void setPasswordChangesShadowAndShowsARandomOneOnce() {
        String before = shadow("guest");
        JsonNode op = ok(api.post("/v1/vms/ga/guest/set-password?wait=true",
                JSON.valueToTree(Map.of("user", "guest", "random", true))));
        String password = op.path("result").path("password").asText();
        assertThat(password).hasSize(20);
        String after = shadow("guest");
        assertThat(after).isNotEqualTo(before).startsWith("guest:$6$");
        // shown once: later reads and the listing have it redacted
        String id = op.path("id").asText();
        assertThat(ok(api.get("/v1/operations/" + id)).path("result").path("password").asText()).startsWith("(redacted");
        assertThat(api.get("/v1/operations").text()).doesNotContain(password);
        assertThat(Files.readLog(daemon)).doesNotContain(password);

        String hash = "$6$jvirtsalt$3b2R0cYxXq0S8m1o1h4dWmM0G8lYkQ9k2vQ7pYH3o0mS6Q9a0i8XlYv1cG1ZL5r9yq9i3KpFJk3nY7x0xQ0Yh/";
        ok(api.post("/v1/vms/ga/guest/set-password?wait=true", JSON.valueToTree(Map.of("user", "guest", "password", hash,
                "crypted", true))));
        assertThat(shadow("guest")).startsWith("guest:" + hash + ":");
        assertThat(api.post("/v1/vms/ga/guest/set-password?wait=true",
                JSON.valueToTree(Map.of("user", "guest", "random", true, "crypted", true))).errorCode()).isEqualTo("invalid-argument");
        TestHttp.Response unknown = api.post("/v1/vms/ga/guest/set-password?wait=true",
                JSON.valueToTree(Map.of("user", "nobody-here", "password", "x")));
        assertThat(unknown.errorCode()).as(unknown.toString()).isEqualTo("agent-error");
    }

    @Test
    @Order(6)
    void rebootAndShutdownThroughTheAgent() throws Exception {
        try (ConsoleReader console = new ConsoleReader(api, "ga")) {
            int first = console.await(TestGuest.READY, GuestConsole.TIMEOUT);
            assertThat(ok(api.post("/v1/vms/ga/guest/reboot")).path("mode").asText()).isEqualTo("reboot");
            console.await(TestGuest.READY, first, GuestConsole.TIMEOUT);
        }
        awaitAgent(api, "ga");
        JsonNode down = ok(api.post("/v1/vms/ga/shutdown?mode=agent&wait=true&timeout=60"));
        assertThat(down.path("status").asText()).isEqualTo("success");
        JsonNode vm = api.get("/v1/vms/ga").json();
        assertThat(vm.path("state").asText()).isEqualTo("shutoff");
        assertThat(vm.path("reason").asText()).isEqualTo("guest-shutdown");
        assertThat(api.post("/v1/vms/ga/guest/ping").errorCode()).isEqualTo("invalid-state");
        assertThat(api.post("/v1/vms/ga/shutdown?mode=sideways").errorCode()).isEqualTo("invalid-argument");
    }

    private static String shadow(String user) {
        String text = sh(api, "ga", "cat /etc/shadow").path("stdout").asText();
        return text.lines().filter(l -> l.startsWith(user + ":")).findFirst().orElseThrow();
    }

    static JsonNode find(JsonNode array, String field, String value) {
        for (JsonNode n : array) {
            if (value.equals(n.path(field).asText())) {
                return n;
            }
        }
        throw new AssertionError("no " + field + "=" + value + " in " + array);
    }

    /** The daemon's log so far. */
    static final class Files {
        static String readLog(DaemonProcess d) {
            try {
                return java.nio.file.Files.readString(d.log());
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
    }
}
