package io.jvirt.cli;

/** The pieces of a progress line on stderr: {@code [#####.....]} and byte counts in binary units. */
final class ProgressBar {
    private static final int WIDTH = 30;

    private ProgressBar() {
    }

    static String bar(double percent) {
        int full = (int) Math.round(Math.min(100, Math.max(0, percent)) * WIDTH / 100);
        return "[" + "#".repeat(full) + ".".repeat(WIDTH - full) + "]";
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %s", v, units[u]);
    }
}
