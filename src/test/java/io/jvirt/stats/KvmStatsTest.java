package io.jvirt.stats;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.jvirt.qemu.monitor.StatsReplies;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * KVM's counters from a recorded {@code query-stats-schemas} / {@code query-stats} reply of this host's QEMU 7.2
 * under KVM (a two-vCPU {@code pc} machine, paused; nested KVM runs no guest here, so every value is 0 and the
 * test sets some): typed by the schema, named as libvirt names them, histograms left out, and absent (not zero)
 * when KVM provides nothing.
 */
class KvmStatsTest {
    static final ObjectMapper QMP = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    static <T> List<T> recorded(String file, Class<T> type) throws Exception {
        try (InputStream in = KvmStatsTest.class.getResourceAsStream("/qmp/" + file)) {
            return QMP.readValue(in, QMP.getTypeFactory().constructCollectionType(List.class, type));
        }
    }

    static VmSample.Kvm kvm(long exitsVcpu0, long exitsVcpu1) throws Exception {
        List<StatsReplies.StatsResult> vcpus = recorded("kvm-query-stats-vcpu.json", StatsReplies.StatsResult.class).stream()
                .map(r -> new StatsReplies.StatsResult(r.provider(), r.qomPath(), r.stats().stream()
                        .map(s -> !s.name().equals("exits") ? s : new StatsReplies.Stat("exits",
                                r.qomPath().endsWith("[0]") ? exitsVcpu0 : exitsVcpu1)).toList())).toList();
        return KvmStats.of(recorded("kvm-query-stats-schemas.json", StatsReplies.StatsSchema.class),
                recorded("kvm-query-stats-vm.json", StatsReplies.StatsResult.class), vcpus,
                Map.of("/machine/unattached/device[0]", 0, "/machine/unattached/device[2]", 1));
    }

    @Test
    void recordedRepliesBecomeTypedCountersInLibvirtNames() throws Exception {
        VmSample.Kvm k = kvm(10, 32);
        assertThat(k.vm()).containsKeys("remote_tlb_flush", "pages_4k", "max_mmu_rmap_size");
        assertThat(k.vm().get("remote_tlb_flush").suffix()).isEqualTo("sum");
        assertThat(k.vm().get("pages_4k").suffix()).isEqualTo("cur");
        assertThat(k.vm().get("max_mmu_rmap_size").suffix()).isEqualTo("max");
        assertThat(k.vcpus()).containsOnlyKeys(0, 1);
        Map<String, KvmStats.Value> v0 = k.vcpus().get(0);
        assertThat(v0).containsKeys("exits", "halt_exits", "io_exits", "pf_taken", "halt_wait_ns", "blocking");
        assertThat(v0).doesNotContainKeys("halt_wait_hist", "halt_poll_fail_hist"); // histograms are left out
        assertThat(v0.get("halt_wait_ns").unit()).isEqualTo("seconds");
        assertThat(v0.get("guest_mode").value()).isZero(); // a boolean reads as 0/1
        assertThat(KvmStats.vcpuTotal(k, "exits")).isEqualTo(42);

        VmSample sample = new VmSample("k", "running", "booted", Instant.now(), Set.of(StatsGroup.STATE, StatsGroup.VCPU,
                StatsGroup.VM), null, null, List.of(new VmSample.Vcpu(0, 1, "R", 5, 1), new VmSample.Vcpu(1, 2, "S", 6, 1)), 2,
                null, null, null, k, null, Map.of());
        Map<String, Object> f = DomStats.fields(sample);
        assertThat(f).containsEntry("vm.remote_tlb_flush.sum", 0L).containsEntry("vm.pages_4k.cur", 0L)
                .containsEntry("vm.max_mmu_rmap_size.max", 0L).containsEntry("vcpu.1.exits.sum", 32L)
                .containsEntry("vcpu.0.halt_exits.sum", 0L);
        assertThat(f.keySet()).noneMatch(key -> key.contains("hist"));
    }

    @Test
    void nothingFromKvmIsAnAbsentGroupNotZeros() {
        assertThat(KvmStats.of(List.of(), List.of(), List.of(), Map.of())).isNull();
        VmSample tcg = new VmSample("t", "running", "booted", Instant.now(), Set.of(StatsGroup.STATE, StatsGroup.VCPU), null,
                null, List.of(new VmSample.Vcpu(0, 1, "R", 5, 1)), 1, null, null, null, null, null, Map.of());
        assertThat(DomStats.fields(tcg).keySet()).noneMatch(key -> key.startsWith("vm.") || key.contains(".exits"));
    }

    @Test
    void aBalloonCounterTheGuestDoesNotReportIsLeftOutNotOverflowed() throws Exception {
        StatsReplies.BalloonStats s = QMP.readValue("{\"stats\": {\"stat-free-memory\": 46620672, "
                + "\"stat-htlb-pgalloc\": 18446744073709551615}, \"last-update\": 1796164121}", StatsReplies.BalloonStats.class);
        assertThat(s.stats().get("stat-free-memory")).isInstanceOf(Integer.class);
        assertThat(s.stats().get("stat-htlb-pgalloc")).isInstanceOf(java.math.BigInteger.class);
        assertThat(s.lastUpdate()).isEqualTo(1796164121L);
    }
}
