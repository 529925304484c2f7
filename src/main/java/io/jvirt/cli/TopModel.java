package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code jvirt top} shows, from two successive answers of {@code GET /v1/stats}: per VM the CPU % (of one host
 * CPU, as top counts), memory, disk and network rates, and KVM exits/s when the VM runs under KVM; and for one VM,
 * a row per vCPU and KVM's counters as rates, the way kvm_stat shows them. Rates use each sample's own time, so a
 * sample served from the daemon's cache never makes a rate up. Pure logic: no terminal here.
 */
final class TopModel {
    static final String[] COLUMNS = {"NAME", "STATE", "%CPU", "MEM", "RD/s", "WR/s", "RX/s", "TX/s", "EXITS/s"};
    static final List<String> SORT_KEYS = List.of("cpu", "mem", "rd", "wr", "rx", "tx", "exits", "name");

    /** One VM's line; {@code exits} null when KVM gives no counters (TCG): shown as "-", never 0. */
    record Row(String name, String state, double cpu, long memKiB, double rd, double wr, double rx, double tx, Double exits) {
        String[] cells() {
            return new String[] {name, state, String.format(Locale.ROOT, "%.1f", cpu), memKiB < 0 ? "-" : Bytes.format(memKiB * 1024, 1),
                rate(rd), rate(wr), rate(rx), rate(tx), exits == null ? "-" : String.format(Locale.ROOT, "%.0f", exits)};
        }
    }

    private TopModel() {
    }

    /** The rows, sorted by {@code key} (largest first; by name: alphabetically). */
    static List<Row> rows(JsonNode before, JsonNode now, String key) {
        Map<String, JsonNode> old = byVm(before);
        List<Row> rows = new ArrayList<>();
        for (JsonNode vm : now.path("vms")) {
            JsonNode s = vm.path("stats");
            JsonNode p = old.get(vm.path("vm").asText());
            double dt = p == null ? 0 : seconds(p, vm);
            JsonNode ps = p == null ? null : p.path("stats");
            long mem = s.has("balloon.current") ? s.path("balloon.current").asLong() : -1;
            rows.add(new Row(vm.path("vm").asText(), s.path("state.name").asText("-"),
                    100 * rate(ps, s, dt, "cpu.time") / 1e9, mem, sumRate(ps, s, dt, "block.", ".rd.bytes"),
                    sumRate(ps, s, dt, "block.", ".wr.bytes"), sumRate(ps, s, dt, "net.", ".rx.bytes"),
                    sumRate(ps, s, dt, "net.", ".tx.bytes"), hasKvm(s) ? sumRate(ps, s, dt, "vcpu.", ".exits.sum") : null));
        }
        rows.sort(order(key));
        return rows;
    }

    /** The table of rows, with the header. */
    static List<String[]> table(List<Row> rows) {
        List<String[]> t = new ArrayList<>();
        t.add(COLUMNS);
        rows.forEach(r -> t.add(r.cells()));
        return t;
    }

    /** One VM's vCPUs: VCPU, %CPU (of a host CPU), DELAY ms/s (waiting for a host CPU), EXITS/s. */
    static List<String[]> vcpus(JsonNode before, JsonNode now) {
        JsonNode s = now.path("stats");
        JsonNode ps = before == null ? null : before.path("stats");
        double dt = before == null ? 0 : seconds(before, now);
        List<String[]> t = new ArrayList<>();
        t.add(new String[] {"VCPU", "%CPU", "DELAY ms/s", "EXITS/s"});
        for (int i = 0; s.has("vcpu." + i + ".time"); i++) {
            String p = "vcpu." + i + ".";
            t.add(new String[] {Integer.toString(i), String.format(Locale.ROOT, "%.1f", 100 * rate(ps, s, dt, p + "time") / 1e9),
                String.format(Locale.ROOT, "%.1f", rate(ps, s, dt, p + "delay") / 1e6),
                s.has(p + "exits.sum") ? String.format(Locale.ROOT, "%.0f", rate(ps, s, dt, p + "exits.sum")) : "-"});
        }
        return t;
    }

    /**
     * KVM's counters of one VM as kvm_stat shows them: EVENT, TOTAL, RATE/s (VM counters, and vCPU counters summed
     * over the vCPUs), busiest first; empty without KVM.
     */
    static List<String[]> kvmEvents(JsonNode before, JsonNode now) {
        Map<String, Long> totals = kvmTotals(now.path("stats"));
        Map<String, Long> old = before == null ? Map.of() : kvmTotals(before.path("stats"));
        double dt = before == null ? 0 : seconds(before, now);
        List<Object[]> events = new ArrayList<>();
        totals.forEach((name, total) -> {
            Long o = old.get(name);
            events.add(new Object[] {name, total, o == null || dt <= 0 ? 0.0 : Math.max(0, total - o) / dt});
        });
        events.sort(Comparator.comparing((Object[] e) -> (Double) e[2]).reversed().thenComparing(e -> (String) e[0]));
        List<String[]> t = new ArrayList<>();
        if (events.isEmpty()) {
            return t;
        }
        t.add(new String[] {"EVENT", "TOTAL", "RATE/s"});
        for (Object[] e : events) {
            t.add(new String[] {(String) e[0], Long.toString((Long) e[1]), String.format(Locale.ROOT, "%.0f", (Double) e[2])});
        }
        return t;
    }

    /** The VM of an answer, or null. */
    static JsonNode vm(JsonNode answer, String name) {
        return answer == null ? null : byVm(answer).get(name);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static Map<String, Long> kvmTotals(JsonNode s) {
        Map<String, Long> out = new TreeMap<>();
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.endsWith(".sum")) {
                continue;
            }
            if (f.startsWith("vm.")) {
                out.merge("vm:" + f.substring(3, f.length() - 4), s.path(f).asLong(), Long::sum);
            } else if (f.startsWith("vcpu.")) {
                String rest = f.substring(f.indexOf('.', 5) + 1);
                out.merge(rest.substring(0, rest.length() - 4), s.path(f).asLong(), Long::sum);
            }
        }
        return out;
    }

    private static boolean hasKvm(JsonNode s) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            if (it.next().startsWith("vm.")) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, JsonNode> byVm(JsonNode answer) {
        Map<String, JsonNode> m = new HashMap<>();
        if (answer != null) {
            answer.path("vms").forEach(v -> m.put(v.path("vm").asText(), v));
        }
        return m;
    }

    private static double seconds(JsonNode before, JsonNode now) {
        try {
            long ms = Instant.parse(now.path("time").asText()).toEpochMilli() - Instant.parse(before.path("time").asText()).toEpochMilli();
            return ms / 1000.0;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static double rate(JsonNode before, JsonNode now, double dt, String field) {
        if (before == null || dt <= 0 || !now.has(field) || !before.has(field)) {
            return 0;
        }
        return Math.max(0, now.path(field).asLong() - before.path(field).asLong()) / dt;
    }

    /** The summed rate of every {@code prefix N suffix} field (all disks, all NICs, all vCPUs). */
    private static double sumRate(JsonNode before, JsonNode now, double dt, String prefix, String suffix) {
        double sum = 0;
        for (int i = 0; now.has(prefix + i + ".name") || now.has(prefix + i + ".time"); i++) {
            sum += rate(before, now, dt, prefix + i + suffix);
        }
        return sum;
    }

    private static Comparator<Row> order(String key) {
        Comparator<Row> byName = Comparator.comparing(Row::name);
        Comparator<Row> c = switch (key) {
            case "mem" -> Comparator.comparingDouble(Row::memKiB);
            case "rd" -> Comparator.comparingDouble(Row::rd);
            case "wr" -> Comparator.comparingDouble(Row::wr);
            case "rx" -> Comparator.comparingDouble(Row::rx);
            case "tx" -> Comparator.comparingDouble(Row::tx);
            case "exits" -> Comparator.comparingDouble(r -> r.exits() == null ? -1 : r.exits());
            case "name" -> null;
            default -> Comparator.comparingDouble(Row::cpu);
        };
        return c == null ? byName : c.reversed().thenComparing(byName);
    }

    static String rate(double bytesPerSecond) {
        return Bytes.format((long) bytesPerSecond, 1);
    }
}
