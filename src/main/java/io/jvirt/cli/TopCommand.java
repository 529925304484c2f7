package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvirt top}: the VMs' activity, live, like virt-top and kvm_stat. On a terminal it is a full-screen view
 * ({@link TopScreen}, drawn with JLine, which only this command loads); {@code --once} or {@code --batch N} (or
 * stdout not a terminal) print tables instead, for scripts. It polls {@code GET /v1/stats} with short requests.
 */
@Command(name = "top", description = "Live view of the VMs: CPU, memory, disk and network rates, KVM exits (q quits).")
final class TopCommand extends CliCommand {
    @Parameters(paramLabel = "VM", arity = "0..*", completionCandidates = Completion.VmNames.class,
            description = "Only these VMs (default: all).")
    List<String> vms;
    @Option(names = "--once", description = "Print one table (after one delay, to have rates) and exit.")
    boolean once;
    @Option(names = "--batch", paramLabel = "N", description = "Print N tables, one per delay, without a full screen.")
    Integer batch;
    @Option(names = {"-d", "--delay"}, paramLabel = "S", defaultValue = "1", description = "Seconds between updates (default 1).")
    double delay;
    @Option(names = "--sort", paramLabel = "KEY", defaultValue = "cpu",
            description = "Sort by cpu (default), mem, rd, wr, rx, tx, exits or name.")
    String sort;

    @Override
    public Integer call() throws Exception {
        if (!TopModel.SORT_KEYS.contains(sort)) throw usage("--sort takes one of " + TopModel.SORT_KEYS);
        if (delay < 0.1 || delay > 3600) throw usage("--delay must be between 0.1 and 3600 seconds");
        if (batch != null && batch <= 0) throw usage("--batch must be a positive number");
        int rounds = once ? 1 : batch == null ? 0 : batch;
        if (rounds == 0 && (System.console() == null || out().json())) {
            rounds = 1; // not a terminal: a script asked
        }
        if (rounds == 0) {
            return TopScreen.run(this::sample, sort, delay);
        }
        JsonNode before = sample();
        for (int i = 0; i < rounds; i++) {
            Thread.sleep((long) (delay * 1000));
            JsonNode now = sample();
            if (out().json()) {
                out().json(now);
            } else {
                List<TopModel.Row> rows = TopModel.rows(before, now, sort);
                out().line("jvirt top - " + LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " - " + rows.size()
                        + " VMs - sort " + sort);
                out().table(TopModel.table(rows));
                out().line("");
            }
            before = now;
        }
        return JvirtCli.EXIT_OK;
    }

    /** One fresh answer of GET /v1/stats (maxAge 0: rates need samples of now). */
    JsonNode sample() throws Exception {
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("maxAge", 0);
        if (vms != null && !vms.isEmpty()) q.put("vm", String.join(",", vms));
        return api().get("/v1/stats", q);
    }
}
