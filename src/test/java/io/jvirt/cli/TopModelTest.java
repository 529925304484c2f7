package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** jvirt top's rates from two /v1/stats answers: per VM rows, per-vCPU rows and kvm_stat's counter rates. */
class TopModelTest {
    static JsonNode answer(String time, long cpu, long wr, long exits0, long exits1, boolean kvm) throws Exception {
        String k = kvm ? ",\"vm.remote_tlb_flush.sum\":" + exits0 + ",\"vcpu.0.exits.sum\":" + exits0
                + ",\"vcpu.1.exits.sum\":" + exits1 + ",\"vcpu.0.halt_exits.sum\":" + exits0 / 2 : "";
        return Json.parse("{\"vms\":[{\"vm\":\"a\",\"time\":\"" + time + "\",\"stats\":{\"state.name\":\"running\","
                + "\"cpu.time\":" + cpu + ",\"balloon.current\":131072,\"vcpu.0.time\":" + cpu / 2 + ",\"vcpu.0.delay\":0,"
                + "\"vcpu.1.time\":" + cpu / 2 + ",\"vcpu.1.delay\":1000000,\"block.0.name\":\"vda\",\"block.0.wr.bytes\":" + wr
                + ",\"block.0.rd.bytes\":0" + k + "}},"
                + "{\"vm\":\"b\",\"time\":\"" + time + "\",\"stats\":{\"state.name\":\"paused\",\"cpu.time\":0}}]}");
    }

    @Test
    void ratesComeFromEachSamplesOwnTime() throws Exception {
        JsonNode before = answer("2026-12-01T10:00:00Z", 0, 0, 100, 100, true);
        JsonNode now = answer("2026-12-01T10:00:02Z", 1_000_000_000L, 4 << 20, 300, 500, true);
        List<TopModel.Row> rows = TopModel.rows(before, now, "cpu");
        assertThat(rows).extracting(TopModel.Row::name).containsExactly("a", "b");
        TopModel.Row a = rows.get(0);
        assertThat(a.cpu()).isEqualTo(50.0);
        assertThat(a.wr()).isEqualTo(2 << 20);
        assertThat(a.exits()).isEqualTo(300.0); // (200 + 400) / 2 s
        assertThat(rows.get(1).exits()).as("no KVM counters: shown as -, not 0").isNull();
        assertThat(TopModel.table(rows).get(1)).containsExactly("a", "running", "50.0", "128.0 MiB", "0 B", "2.0 MiB", "0 B",
                "0 B", "300");
        assertThat(TopModel.rows(before, now, "name")).extracting(TopModel.Row::name).containsExactly("a", "b");

        List<String[]> vcpus = TopModel.vcpus(TopModel.vm(before, "a"), TopModel.vm(now, "a"));
        assertThat(vcpus).hasSize(3);
        assertThat(vcpus.get(1)).containsExactly("0", "25.0", "0.0", "100");
        List<String[]> kvm = TopModel.kvmEvents(TopModel.vm(before, "a"), TopModel.vm(now, "a"));
        assertThat(kvm.get(0)).containsExactly("EVENT", "TOTAL", "RATE/s");
        assertThat(kvm.get(1)).containsExactly("exits", "800", "300");
        assertThat(kvm).anyMatch(r -> r[0].equals("vm:remote_tlb_flush") && r[2].equals("100"));
        assertThat(TopModel.kvmEvents(null, TopModel.vm(answer("2026-12-01T10:00:00Z", 0, 0, 0, 0, false), "a"))).isEmpty();
    }
}
