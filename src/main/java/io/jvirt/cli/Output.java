package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.util.List;

/**
 * The one way commands print on stdout: the API's JSON with {@code -o json}, else tables, key/value blocks and
 * lines for people. Every print is flushed (scripts read the output of long commands as it comes).
 */
final class Output {
    private final PrintStream out;
    private final boolean json;

    Output(PrintStream out, boolean json) {
        this.out = out;
        this.json = json;
    }

    boolean json() {
        return json;
    }

    /** {@code node} pretty-printed. */
    void json(JsonNode node) {
        out.println(Json.pretty(node));
        out.flush();
    }

    void line(String text) {
        out.println(text);
        out.flush();
    }

    void print(CharSequence text) {
        out.print(text);
        out.flush();
    }

    /** Rows as left-aligned columns separated by two spaces (last column not padded); the first row is the header. */
    void table(List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] w = new int[cols];
        for (String[] r : rows) for (int i = 0; i < cols; i++) w[i] = Math.max(w[i], r[i].length());
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            for (int i = 0; i < cols; i++) {
                sb.append(r[i]);
                if (i < cols - 1) sb.append(" ".repeat(w[i] - r[i].length() + 2));
            }
            sb.append('\n');
        }
        print(sb);
    }

    /** A block of {@code Key:  value} lines whose values start at column {@code width}. */
    Block block(int width) {
        return new Block(width);
    }

    /** A field of an API object as text: "-" when absent, null or empty; objects and arrays as compact JSON. */
    static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull() || v.isMissingNode()) return "-";
        String s = v.isValueNode() ? v.asText() : Json.compact(v);
        return s.isEmpty() ? "-" : s;
    }

    /** See {@link #block(int)}. */
    final class Block {
        private final StringBuilder sb = new StringBuilder(512);
        private final int width;

        private Block(int width) {
            this.width = width;
        }

        Block add(String key, String value) {
            sb.append(key).append(':').append(" ".repeat(Math.max(1, width - key.length() - 1))).append(value)
                    .append('\n');
            return this;
        }

        /** One line per value, the later ones indented under the first; "-" when there is none. */
        Block add(String key, List<String> values) {
            if (values.isEmpty()) return add(key, "-");
            add(key, values.get(0));
            for (int i = 1; i < values.size(); i++) sb.append(" ".repeat(width)).append(values.get(i)).append('\n');
            return this;
        }

        void print() {
            Output.this.print(sb);
        }
    }
}
