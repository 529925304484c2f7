package io.jvirt.cli;

import static io.jvirt.cli.Output.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jvirt events}: the daemon's event stream, one line per event (or one compact JSON object with -o json). */
@Command(name = "events", description = "Stream daemon events, one line each (TIME TYPE VM STATE/STATUS ...).")
final class EventsCommand extends CliCommand {
    @Option(names = "--vm", paramLabel = "NAME", completionCandidates = Completion.VmNames.class,
            description = "Only events of this VM.")
    String vm;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> q = new LinkedHashMap<>();
        if (vm != null) q.put("vm", vm);
        Output out = out();
        boolean json = out.json();
        if (!json) out.line(eventLine("TIME", "TYPE", "VM", "STATE/STATUS", ""));
        api().events("/v1/events", q, (type, data) -> {
            out.line(json ? data : formatEvent(type, data));
            return true;
        });
        return JvirtCli.EXIT_OK;
    }

    static String formatEvent(String type, String data) {
        JsonNode e;
        try {
            e = Json.parse(data);
        } catch (IOException ex) {
            e = null;
        }
        if (e == null || !e.isObject()) return eventLine("-", type, "-", "-", data);
        String t = e.path("type").isTextual() ? e.get("type").asText() : type;
        if (t.equals("lifecycle")) {
            StringBuilder more = new StringBuilder();
            if (!text(e, "previous").equals("-")) more.append("from=").append(text(e, "previous"));
            if (!text(e, "reason").equals("-")) {
                more.append(more.length() > 0 ? " " : "").append("reason=").append(text(e, "reason"));
            }
            return eventLine(text(e, "time"), t, text(e, "vm"), text(e, "state"), more.toString());
        }
        if (t.equals("operation")) {
            JsonNode op = e.path("operation");
            StringBuilder more = new StringBuilder("op=").append(text(op, "kind")).append(" id=").append(text(op, "id"));
            if (!text(op, "progress").equals("-")) more.append(" progress=").append(text(op, "progress"));
            JsonNode err = op.get("error");
            if (err != null && err.isObject()) {
                more.append(" error=").append(text(err, "code")).append(": ").append(text(err, "message"));
            }
            return eventLine(text(e, "time"), t, text(op, "vm"), text(op, "status"), more.toString());
        }
        return eventLine(text(e, "time"), t, text(e, "vm"), text(e, "state"), data);
    }

    static String eventLine(String time, String type, String vm, String state, String more) {
        StringBuilder sb = new StringBuilder(120);
        pad(sb, time, 24);
        pad(sb, type, 9);
        pad(sb, vm, 16);
        if (more.isEmpty()) sb.append(state);
        else pad(sb, state, 13).append(more);
        return sb.toString().stripTrailing();
    }

    private static StringBuilder pad(StringBuilder sb, String s, int w) {
        sb.append(s).append(' ');
        for (int i = s.length() + 1; i < w + 1; i++) sb.append(' ');
        return sb.append(' ');
    }
}
