package io.jvirt.stats;

import static io.jvirt.testing.AgentCalls.awaitAgent;
import static io.jvirt.testing.AgentCalls.ok;
import static io.jvirt.testing.AgentCalls.sh;
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
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Statistics of real guests: byte counters rise by what the guest wrote to its disk and sent on its NIC (a tap on a
 * bridge in a namespace the test made), CPU time rises for a busy guest and stays flat for an idle one, stats answer
 * while a throttled block copy runs and while a job holds the VM, KVM's group is absent under TCG, {@code /metrics}
 * parses with the Prometheus client's own text parser and has every VM's series, and {@code jvirt top --batch 2}
 * prints a row per VM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StatsApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    TestNetns ns;
    DaemonProcess daemon;
    TestHttp api;

    @BeforeAll
    void setUp() throws Exception {
        ns = TestNetns.create("sta");
        ns.execOk(ns.inside, "ip", "link", "add", "jvs-br", "type", "bridge");
        ns.execOk(ns.inside, "ip", "address", "add", "10.81.0.1/24", "dev", "jvs-br");
        ns.execOk(ns.inside, "ip", "link", "set", "jvs-br", "up");
        daemon = DaemonProcess.startInNamespace(ns.inside, "--no-default-network");
        api = daemon.http();
        Path disk = daemon.root().resolve("st1.raw");
        TestGuest.newDisk(disk, "raw", "64M");
        ObjectNode st1 = TestGuest.definition("st1");
        st1.putArray("disks").addObject().put("name", "vda").put("path", disk.toString()).put("format", "raw");
        st1.putArray("nics").addObject().put("name", "net0").put("bridge", "jvs-br").put("mac", "52:54:00:57:a7:01");
        ObjectNode st2 = TestGuest.definition("st2");
        st2.putArray("nics").addObject().put("name", "net0").put("mac", "52:54:00:57:a7:02"); // user-mode
        for (ObjectNode d : List.of(st1, st2)) {
            TestHttp.Response r = api.post("/v1/vms", d);
            assertThat(r.status()).as(r.toString()).isEqualTo(201);
            ok(api.post("/v1/vms/" + d.path("name").asText() + "/start?wait=true"));
        }
        awaitAgent(api, "st1");
        awaitAgent(api, "st2");
    }

    @AfterAll
    void tearDown() {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    JsonNode stats(String vm, String groups) {
        return ok(api.get("/v1/vms/" + vm + "/stats?maxAge=0" + (groups == null ? "" : "&groups=" + groups))).path("stats");
    }

    @Test
    @Order(1)
    void diskAndNicCountersRiseByWhatTheGuestWroteAndSent() {
        JsonNode before = stats("st1", "block,interface");
        assertThat(before.path("block.0.name").asText()).isEqualTo("vda");
        assertThat(before.path("block.0.capacity").asLong()).isEqualTo(64L << 20);
        assertThat(before.path("net.0.name").asText()).isEqualTo("net0");
        assertThat(before.path("net.0.tap").asText()).startsWith("jv");
        sh(api, "st1", "dd if=/dev/urandom of=/dev/vda bs=65536 count=64 conv=fsync 2>/dev/null; "
                + "dd if=/dev/vda of=/dev/null bs=65536 count=32 skip=128 iflag=direct 2>/dev/null");
        JsonNode after = stats("st1", "block");
        long written = after.path("block.0.wr.bytes").asLong() - before.path("block.0.wr.bytes").asLong();
        long read = after.path("block.0.rd.bytes").asLong() - before.path("block.0.rd.bytes").asLong();
        assertThat(written).as("bytes written").isBetween(4L << 20, (4L << 20) + (256 << 10));
        assertThat(read).as("bytes read").isBetween(2L << 20, (2L << 20) + (256 << 10));
        assertThat(after.path("block.0.wr.reqs").asLong()).isGreaterThan(before.path("block.0.wr.reqs").asLong());
        assertThat(after.path("block.0.fl.reqs").asLong()).isGreaterThan(before.path("block.0.fl.reqs").asLong());
        assertThat(after.path("block.0.allocation").asLong()).isGreaterThanOrEqualTo(4L << 20);

        // 100 pings of 1400 data bytes: 1442 bytes a frame (Ethernet 14 + IP 20 + ICMP 8 + 1400) each way
        sh(api, "st1", "ip address add 10.81.0.50/24 dev eth0; ping -q -c 100 -i 0.02 -s 1400 10.81.0.1 >/dev/null");
        JsonNode net = stats("st1", "interface");
        long sent = net.path("net.0.tx.bytes").asLong() - before.path("net.0.tx.bytes").asLong();
        long received = net.path("net.0.rx.bytes").asLong() - before.path("net.0.rx.bytes").asLong();
        assertThat(sent).as("bytes sent").isBetween(144_200L, 144_200L + 16_000);
        assertThat(received).as("bytes received").isBetween(144_200L, 144_200L + 16_000);
        assertThat(net.path("net.0.tx.pkts").asLong() - before.path("net.0.tx.pkts").asLong()).isBetween(100L, 130L);
        // a user-mode NIC has no host device: named, without counters
        JsonNode user = stats("st2", "interface");
        assertThat(user.path("net.0.name").asText()).isEqualTo("net0");
        assertThat(user.has("net.0.tx.bytes")).isFalse();
    }

    @Test
    @Order(2)
    void cpuTimeRisesForABusyGuestAndStaysFlatForAnIdleOne() throws Exception {
        sh(api, "st2", "(while :; do :; done) >/dev/null 2>&1 &");
        Thread.sleep(500);
        JsonNode busy0 = stats("st2", "cpu,vcpu");
        JsonNode idle0 = stats("st1", "cpu,vcpu");
        Thread.sleep(3000);
        JsonNode busy1 = stats("st2", "cpu,vcpu");
        JsonNode idle1 = stats("st1", "cpu,vcpu");
        double busy = (busy1.path("cpu.time").asLong() - busy0.path("cpu.time").asLong()) / 1e9;
        double busyVcpu = (busy1.path("vcpu.0.time").asLong() - busy0.path("vcpu.0.time").asLong()) / 1e9;
        double idle = (idle1.path("cpu.time").asLong() - idle0.path("cpu.time").asLong()) / 1e9;
        assertThat(busy).as("busy guest's CPU seconds in 3 s").isGreaterThan(1.2);
        assertThat(busyVcpu).as("busy guest's vCPU seconds in 3 s").isGreaterThan(1.0);
        assertThat(idle).as("idle guest's CPU seconds in 3 s").isLessThan(0.6);
        assertThat(busy1.path("vcpu.current").asInt()).isEqualTo(1);
        assertThat(busy1.path("cpu.user").asLong() + busy1.path("cpu.system").asLong()).isEqualTo(busy1.path("cpu.time").asLong());
    }

    @Test
    @Order(3)
    void kvmGroupIsAbsentUnderTcgAndBalloonReportsTheGuest() throws Exception {
        JsonNode answer = ok(api.get("/v1/vms/st1/stats?maxAge=0&groups=vm,balloon"));
        boolean kvm = "kvm".equals(TestGuest.accel());
        List<String> vmFields = fieldsStartingWith(answer.path("stats"), "vm.");
        if (kvm) {
            assertThat(vmFields).isNotEmpty();
        } else {
            assertThat(vmFields).as("no vm.* under TCG: absent, not zero").isEmpty();
            assertThat(answer.path("groups").toString()).doesNotContain("\"vm\"");
        }
        assertThat(answer.path("stats").path("balloon.maximum").asLong()).isEqualTo(128 * 1024);
        assertThat(answer.path("stats").path("balloon.rss").asLong()).isGreaterThan(1024);
        assertThat(answer.path("stats").has("cpu.time")).as("only the groups asked for").isFalse();
        assertThat(api.get("/v1/vms/st1/stats?groups=nonsense").errorCode()).isEqualTo("invalid-argument");
        assertThat(api.get("/v1/vms/nope/stats").errorCode()).isEqualTo("vm-not-found");
        JsonNode all = ok(api.get("/v1/stats"));
        assertThat(all.path("vms").findValuesAsText("vm")).containsExactly("st1", "st2");
    }

    @Test
    @Order(4)
    void statsAnswerDuringAThrottledCopyAndShowItsProgressAndOutcome() throws Exception {
        Path dest = daemon.root().resolve("st1-copy.qcow2");
        TestHttp.Response copy = api.post("/v1/vms/st1/disks/vda/copy", JSON.valueToTree(Map.of("dest", dest.toString(),
                "format", "qcow2", "bandwidthMiB", 1)));
        assertThat(copy.status()).as(copy.toString()).isEqualTo(202);
        Thread.sleep(1500);
        long t0 = System.nanoTime();
        JsonNode during = stats("st1", "job,block");
        assertThat((System.nanoTime() - t0) / 1e6).as("ms").isLessThan(1500);
        assertThat(during.path("job.0.kind").asText()).isEqualTo("blockcopy");
        assertThat(during.path("job.0.target").asText()).isEqualTo("vda");
        assertThat(during.path("job.0.active").asBoolean()).isTrue();
        assertThat(during.path("job.0.total").asLong()).isGreaterThan(0);
        Map<String, List<Sample>> metrics = scrape();
        assertThat(metrics.get("jvirt_domain_job_transferred_bytes")).anyMatch(s -> s.labels().get("domain").equals("st1")
                && s.labels().get("kind").equals("blockcopy"));
        ok(api.post("/v1/vms/st1/disks/vda/job/abort"));
        JsonNode after = stats("st1", "job");
        assertThat(after.path("job.0.active").asBoolean()).as(after.toString()).isFalse();
        assertThat(after.path("job.0.outcome").asText()).isEqualTo("aborted");
        assertThat(scrape().get("jvirt_domain_job_outcome")).anyMatch(s -> "aborted".equals(s.labels().get("outcome")));
    }

    @Test
    @Order(5)
    void metricsParseAndHaveEveryVmsSeries() throws Exception {
        Map<String, List<Sample>> m = scrape();
        for (String vm : List.of("st1", "st2")) {
            assertThat(m.get("jvirt_domain_info_vstate")).anyMatch(s -> s.labels().get("domain").equals(vm) && s.value() == 1);
            assertThat(m.get("jvirt_domain_info_cpu_time_seconds")).anyMatch(s -> s.labels().get("domain").equals(vm));
            assertThat(m.get("jvirt_domain_memory_stats_rss_bytes")).anyMatch(s -> s.labels().get("domain").equals(vm));
            assertThat(m.get("jvirt_domain_vcpu_time_seconds")).anyMatch(s -> s.labels().get("domain").equals(vm)
                    && s.labels().get("vcpu").equals("0"));
        }
        assertThat(m.get("jvirt_domain_block_stats_write_bytes")).anyMatch(s -> s.labels().get("domain").equals("st1")
                && s.labels().get("target_device").equals("vda") && s.name().endsWith("_total") && s.value() >= (4 << 20));
        assertThat(m.get("jvirt_domain_interface_stats_transmit_bytes")).anyMatch(s -> s.labels().get("domain").equals("st1")
                && s.labels().get("nic").equals("net0") && s.value() >= 144_200);
        assertThat(m.get("jvirt_domain_interface_stats_transmit_bytes")).noneMatch(s -> s.labels().get("domain").equals("st2"));
        assertThat(m.get("jvirt_api_request_duration_seconds")).anyMatch(s -> "/v1/vms/{name}/stats".equals(s.labels().get("route"))
                && "200".equals(s.labels().get("code")) && s.name().endsWith("_count") && s.value() >= 1);
        assertThat(m.get("jvirt_qmp_command_duration_seconds")).anyMatch(s -> "query-blockstats".equals(s.labels().get("command")));
        assertThat(m.get("jvirt_operations")).anyMatch(s -> "start".equals(s.labels().get("kind"))
                && "success".equals(s.labels().get("outcome")) && s.value() >= 2);
        assertThat(m.get("jvirt_up")).anyMatch(s -> s.value() == 1);
        assertThat(m).doesNotContainKey("jvirt_domain_kvm_vm_exits"); // TCG here, or the name is another
    }

    @Test
    @Order(6)
    void topBatchPrintsARowPerVm() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = JvirtCli.run(new String[] {"--socket", daemon.socket().toString(), "top", "--batch", "2", "--delay", "0.5"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true,
                        StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(code).as(text).isZero();
        List<String> lines = text.lines().toList();
        assertThat(lines.stream().filter(l -> l.startsWith("jvirt top - "))).hasSize(2);
        assertThat(lines.stream().filter(l -> l.startsWith("NAME "))).hasSize(2)
                .allMatch(l -> List.of(l.trim().split(" +")).equals(List.of("NAME", "STATE", "%CPU", "MEM", "RD/s", "WR/s",
                        "RX/s", "TX/s", "EXITS/s")));
        for (String vm : List.of("st1", "st2")) {
            List<String> rows = lines.stream().filter(l -> l.startsWith(vm + " ")).toList();
            assertThat(rows).hasSize(2).allMatch(l -> l.trim().split(" +").length >= 9 && l.contains("running"));
        }
    }

    @Test
    @Order(7)
    void statsAnswerWhileAJobHoldsTheVm() throws Exception {
        ok(api.post("/v1/vms/st1/suspend"));
        // a paused guest handles the power button only once resumed: the shutdown job holds the slot meanwhile
        TestHttp.Response shutdown = api.post("/v1/vms/st1/shutdown?timeout=30");
        assertThat(shutdown.status()).isEqualTo(202);
        Thread.sleep(300);
        assertThat(api.get("/v1/vms/st1").json().path("job").path("name").asText()).isEqualTo("shutdown");
        long t0 = System.nanoTime();
        JsonNode s = stats("st1", null);
        assertThat((System.nanoTime() - t0) / 1e6).as("ms").isLessThan(1500);
        assertThat(s.path("state.name").asText()).isEqualTo("paused");
        assertThat(s.has("block.0.wr.bytes")).isTrue();
        assertThat(api.post("/v1/vms/st1/suspend").errorCode()).as("the slot is taken").isEqualTo("vm-busy");
        ok(api.post("/v1/vms/st1/destroy"));
    }

    // ---- Prometheus text, read by the official Python client's parser ---------------------------------------------

    record Sample(String name, Map<String, String> labels, double value) {
    }

    /** GET /metrics parsed by prometheus_client.parser: family name -> samples (a parse error fails the test). */
    Map<String, List<Sample>> scrape() throws Exception {
        TestHttp.Response r = api.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().get("content-type")).startsWith("text/plain; version=0.0.4");
        Path text = Files.createTempFile(daemon.root(), "metrics", ".txt");
        Files.write(text, r.body());
        String script = "import json,sys\nfrom prometheus_client.parser import text_string_to_metric_families as f\n"
                + "out={}\nfor fam in f(open(sys.argv[1]).read()):\n"
                + "  out[fam.name]=[{'name':s.name,'labels':s.labels,'value':s.value} for s in fam.samples]\n"
                + "print(json.dumps(out))\n";
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", script, text.toString()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(out, StandardCharsets.UTF_8)).isZero();
        JsonNode parsed = JSON.readTree(out);
        Map<String, List<Sample>> m = new java.util.HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = parsed.fields(); it.hasNext(); ) {
            var e = it.next();
            List<Sample> samples = new ArrayList<>();
            for (JsonNode s : e.getValue()) {
                samples.add(new Sample(s.path("name").asText(), JSON.convertValue(s.path("labels"),
                        JSON.getTypeFactory().constructMapType(Map.class, String.class, String.class)), s.path("value").asDouble()));
            }
            m.put(e.getKey(), samples);
        }
        return m;
    }

    static List<String> fieldsStartingWith(JsonNode stats, String prefix) {
        List<String> out = new ArrayList<>();
        stats.fieldNames().forEachRemaining(f -> {
            if (f.startsWith(prefix)) {
                out.add(f);
            }
        });
        return out;
    }
}
