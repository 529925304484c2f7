package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvirt domstats [VM...] [--cpu --balloon ...]}: the VMs' statistics in libvirt's names (GET /v1/stats),
 * printed as {@code virsh domstats} prints them; no group option means all groups.
 */
@Command(name = "domstats", description = "Statistics of VMs in libvirt's domstats names (all VMs when none is named).")
final class DomStatsCommand extends CliCommand {
    @Parameters(paramLabel = "VM", arity = "0..*", completionCandidates = Completion.VmNames.class)
    List<String> vms;
    @Option(names = "--state", description = "state.*") boolean state;
    @Option(names = {"--cpu", "--cpu-total"}, description = "cpu.time, cpu.user, cpu.system") boolean cpu;
    @Option(names = "--balloon", description = "balloon.* (memory; KiB)") boolean balloon;
    @Option(names = "--vcpu", description = "vcpu.N.* (time, delay; KVM counters under KVM)") boolean vcpu;
    @Option(names = "--interface", description = "net.N.* (tap NICs: the guest's view; user-mode NICs have no counters)") boolean iface;
    @Option(names = "--block", description = "block.N.*") boolean block;
    @Option(names = "--iothread", description = "iothread.*") boolean iothread;
    @Option(names = "--vm", description = "vm.* (KVM's own counters; absent under TCG)") boolean kvm;
    @Option(names = "--job", description = "job.N.* (block copy, migration progress)") boolean job;

    @Override
    JsonNode run() throws Exception {
        List<String> groups = new ArrayList<>();
        if (state) groups.add("state");
        if (cpu) groups.add("cpu");
        if (balloon) groups.add("balloon");
        if (vcpu) groups.add("vcpu");
        if (iface) groups.add("interface");
        if (block) groups.add("block");
        if (iothread) groups.add("iothread");
        if (kvm) groups.add("vm");
        if (job) groups.add("job");
        Map<String, Object> q = new LinkedHashMap<>();
        if (!groups.isEmpty()) q.put("groups", String.join(",", groups));
        if (vms != null && !vms.isEmpty()) q.put("vm", String.join(",", vms));
        return api().get("/v1/stats", q);
    }

    @Override
    void show(JsonNode answer, Output out) {
        StringBuilder b = new StringBuilder();
        for (JsonNode vm : answer.path("vms")) {
            b.append("Domain: '").append(vm.path("vm").asText()).append("'");
            if (vm.path("stale").asBoolean()) b.append(" (stale: its monitor was slow to answer)");
            b.append('\n');
            for (Iterator<Map.Entry<String, JsonNode>> it = vm.path("stats").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                b.append("  ").append(f.getKey()).append('=').append(f.getValue().asText()).append('\n');
            }
            vm.path("errors").fields().forEachRemaining(e -> b.append("  # ").append(e.getKey()).append(": ")
                    .append(e.getValue().asText()).append('\n'));
            b.append('\n');
        }
        answer.path("missing").forEach(m -> b.append("Domain: '").append(m.asText()).append("' (no statistics in time)\n\n"));
        out.print(b);
    }
}
