package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.AttributedString;
import org.jline.utils.AttributedStringBuilder;
import org.jline.utils.AttributedStyle;
import org.jline.utils.Display;
import org.jline.utils.InfoCmp;
import org.jline.utils.NonBlockingReader;

/**
 * The full-screen {@code jvirt top}, drawn with JLine (raw mode, the terminal's own capabilities for the alternate
 * screen and cursor, a {@link Display} that redraws only what changed). Keys: {@code q} quits; {@code c m r w n x
 * a} sort by CPU, memory, disk read, disk write, network receive, KVM exits, name; up/down ({@code k}/{@code j})
 * select a VM; Enter shows it with a row per vCPU and KVM's counters as rates (kvm_stat's view); Esc or {@code b}
 * goes back. Only {@code top} loads this class and JLine.
 */
final class TopScreen {
    /** Where samples come from (GET /v1/stats). */
    @FunctionalInterface
    interface Source {
        JsonNode sample() throws Exception;
    }

    private final Terminal terminal;
    private final Display display;
    private final Source source;
    private String sort;
    private int selected;
    private String detail;
    private JsonNode before;
    private JsonNode now;

    private TopScreen(Terminal terminal, Source source, String sort) {
        this.terminal = terminal;
        this.display = new Display(terminal, true);
        this.source = source;
        this.sort = sort;
    }

    static int run(Source source, String sort, double delay) throws Exception {
        try (Terminal t = TerminalBuilder.builder().system(true).build()) {
            Attributes saved = t.enterRawMode();
            t.puts(InfoCmp.Capability.enter_ca_mode);
            t.puts(InfoCmp.Capability.keypad_xmit);
            t.puts(InfoCmp.Capability.cursor_invisible);
            t.flush();
            try {
                new TopScreen(t, source, sort).loop((long) (delay * 1000));
            } finally {
                t.puts(InfoCmp.Capability.cursor_normal);
                t.puts(InfoCmp.Capability.keypad_local);
                t.puts(InfoCmp.Capability.exit_ca_mode);
                t.setAttributes(saved);
                t.flush();
            }
        }
        return JvirtCli.EXIT_OK;
    }

    private void loop(long delayMillis) throws Exception {
        NonBlockingReader in = terminal.reader();
        now = source.sample();
        long next = System.currentTimeMillis();
        while (true) {
            long wait = next - System.currentTimeMillis();
            if (wait <= 0) {
                before = now;
                now = source.sample();
                draw();
                next = System.currentTimeMillis() + delayMillis;
                continue;
            }
            int c = in.read(wait);
            if (c == NonBlockingReader.READ_EXPIRED) {
                continue;
            }
            if (c < 0 || !key(c, in)) {
                return;
            }
            draw();
        }
    }

    /** Handles one key; false to quit. */
    private boolean key(int c, NonBlockingReader in) throws java.io.IOException {
        switch (c) {
            case 'q', 3 -> {
                return false;
            }
            case 'c' -> sort = "cpu";
            case 'm' -> sort = "mem";
            case 'r' -> sort = "rd";
            case 'w' -> sort = "wr";
            case 'n' -> sort = "rx";
            case 'x' -> sort = "exits";
            case 'a' -> sort = "name";
            case 'j' -> selected++;
            case 'k' -> selected = Math.max(0, selected - 1);
            case 'b' -> detail = null;
            case '\r', '\n' -> detail = selectedName();
            case 27 -> {
                int n = in.read(20);
                if (n == '[' || n == 'O') {
                    int a = in.read(20);
                    if (a == 'A') {
                        selected = Math.max(0, selected - 1);
                    } else if (a == 'B') {
                        selected++;
                    }
                } else {
                    detail = null;
                }
            }
            default -> {
            }
        }
        return true;
    }

    private String selectedName() {
        List<TopModel.Row> rows = TopModel.rows(before, now, sort);
        return rows.isEmpty() ? null : rows.get(Math.min(selected, rows.size() - 1)).name();
    }

    private void draw() {
        display.resize(terminal.getHeight(), terminal.getWidth());
        List<AttributedString> lines = new ArrayList<>();
        String head = "jvirt top - " + LocalTime.now().truncatedTo(ChronoUnit.SECONDS);
        if (detail == null) {
            List<TopModel.Row> rows = TopModel.rows(before, now, sort);
            selected = Math.min(selected, Math.max(0, rows.size() - 1));
            lines.add(bold(head + " - " + rows.size() + " VMs - sort " + sort
                    + "   keys: c m r w n x a sort, j/k select, Enter details, q quit"));
            lines.add(AttributedString.EMPTY);
            List<String[]> table = TopModel.table(rows);
            List<String> text = columns(table);
            lines.add(inverse(text.get(0)));
            for (int i = 1; i < text.size(); i++) {
                lines.add(i - 1 == selected ? bold("> " + text.get(i).substring(Math.min(2, text.get(i).length())))
                        : new AttributedString(text.get(i)));
            }
        } else {
            JsonNode vm = TopModel.vm(now, detail);
            lines.add(bold(head + " - VM " + detail + "   keys: b/Esc back, q quit"));
            lines.add(AttributedString.EMPTY);
            if (vm == null) {
                lines.add(new AttributedString("VM " + detail + " is gone"));
            } else {
                JsonNode old = TopModel.vm(before, detail);
                addTable(lines, TopModel.vcpus(old, vm));
                lines.add(AttributedString.EMPTY);
                List<String[]> kvm = TopModel.kvmEvents(old, vm);
                if (kvm.isEmpty()) {
                    lines.add(new AttributedString("KVM counters: none (the VM does not run under KVM)"));
                } else {
                    addTable(lines, kvm);
                }
            }
        }
        int height = Math.max(1, terminal.getHeight());
        int width = Math.max(1, terminal.getWidth());
        List<AttributedString> fitted = new ArrayList<>();
        for (AttributedString l : lines.size() > height ? lines.subList(0, height) : lines) {
            fitted.add(l.columnLength() > width ? l.columnSubSequence(0, width) : l); // never wrap a line
        }
        display.update(fitted, -1);
        terminal.flush();
    }

    private static void addTable(List<AttributedString> lines, List<String[]> table) {
        List<String> text = columns(table);
        lines.add(inverse(text.get(0)));
        for (int i = 1; i < text.size(); i++) {
            lines.add(new AttributedString(text.get(i)));
        }
    }

    /** Rows as padded columns, two spaces apart; the first column leaves room for the selection mark. */
    private static List<String> columns(List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] w = new int[cols];
        for (String[] r : rows) {
            for (int i = 0; i < cols; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        List<String> out = new ArrayList<>();
        for (String[] r : rows) {
            StringBuilder b = new StringBuilder("  ");
            for (int i = 0; i < cols; i++) {
                b.append(String.format(Locale.ROOT, i < 2 ? "%-" + w[i] + "s" : "%" + w[i] + "s", r[i]));
                if (i < cols - 1) {
                    b.append("  ");
                }
            }
            out.add(b.toString());
        }
        return out;
    }

    private static AttributedString bold(String s) {
        return new AttributedStringBuilder().style(AttributedStyle.BOLD).append(s).toAttributedString();
    }

    private static AttributedString inverse(String s) {
        return new AttributedStringBuilder().style(AttributedStyle.INVERSE).append(s).toAttributedString();
    }
}
