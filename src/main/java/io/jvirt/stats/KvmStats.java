package io.jvirt.stats;

import io.jvirt.qemu.monitor.StatsReplies;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * KVM's own counters of a VM (what kvm_stat reads from debugfs), from {@code query-stats} with provider
 * {@code kvm} and typed by {@code query-stats-schemas}: exits by reason, halt exits and wait time, page faults,
 * TLB flushes. Histograms are left out (kvm_stat shows none either); booleans read as 0/1. Pure logic: the
 * replies come from {@link QemuCounters}.
 */
public final class KvmStats {
    private KvmStats() {
    }

    /** A counter's value with its schema's type (cumulative, instant, peak) and unit (null: a count). */
    public record Value(String type, String unit, long value) {
        /** libvirt's suffix for the type: {@code sum} (cumulative), {@code cur} (instant), {@code max} (peak). */
        public String suffix() {
            return switch (type) {
                case "cumulative" -> "sum";
                case "peak" -> "max";
                default -> "cur";
            };
        }
    }

    /**
     * The VM's and each vCPU's counters. {@code vcpuByQomPath} maps a vCPU's QOM path (query-cpus-fast) to its
     * index; a vCPU it does not know is left out. Null when KVM provides nothing (TCG): the group is absent.
     */
    public static VmSample.Kvm of(List<StatsReplies.StatsSchema> schemas, List<StatsReplies.StatsResult> vm,
                                  List<StatsReplies.StatsResult> vcpus, Map<String, Integer> vcpuByQomPath) {
        if (schemas.isEmpty() && vm.isEmpty() && vcpus.isEmpty()) {
            return null;
        }
        Map<String, StatsReplies.StatSchema> vmSchema = schema(schemas, "vm");
        Map<String, StatsReplies.StatSchema> vcpuSchema = schema(schemas, "vcpu");
        Map<String, Value> vmValues = new TreeMap<>();
        for (StatsReplies.StatsResult r : vm) {
            vmValues.putAll(values(r, vmSchema));
        }
        Map<Integer, Map<String, Value>> perVcpu = new TreeMap<>();
        for (StatsReplies.StatsResult r : vcpus) {
            Integer index = vcpuByQomPath.get(r.qomPath());
            if (index != null) {
                perVcpu.put(index, values(r, vcpuSchema));
            }
        }
        return new VmSample.Kvm(vmValues, perVcpu);
    }

    /** The sum over vCPUs of one cumulative counter (e.g. {@code exits}); -1 when no vCPU has it. */
    public static long vcpuTotal(VmSample.Kvm kvm, String name) {
        long sum = -1;
        for (Map<String, Value> v : kvm.vcpus().values()) {
            Value x = v.get(name);
            if (x != null) {
                sum = Math.max(sum, 0) + x.value();
            }
        }
        return sum;
    }

    private static Map<String, StatsReplies.StatSchema> schema(List<StatsReplies.StatsSchema> schemas, String target) {
        Map<String, StatsReplies.StatSchema> out = new HashMap<>();
        for (StatsReplies.StatsSchema s : schemas) {
            if (target.equals(s.target()) && "kvm".equals(s.provider())) {
                s.stats().forEach(x -> out.put(x.name(), x));
            }
        }
        return out;
    }

    private static Map<String, Value> values(StatsReplies.StatsResult r, Map<String, StatsReplies.StatSchema> schema) {
        Map<String, Value> out = new LinkedHashMap<>();
        for (StatsReplies.Stat s : r.stats()) {
            StatsReplies.StatSchema sc = schema.get(s.name());
            String type = sc == null ? "instant" : sc.type();
            if (type.endsWith("histogram")) {
                continue;
            }
            long v;
            if (s.value() instanceof Number n) {
                v = n.longValue();
            } else if (s.value() instanceof Boolean b) {
                v = b ? 1 : 0;
            } else {
                continue; // a list where the schema promised a number: a newer QEMU's shape, skipped
            }
            out.put(s.name(), new Value(type, sc == null ? null : sc.unit(), v));
        }
        return out;
    }
}
