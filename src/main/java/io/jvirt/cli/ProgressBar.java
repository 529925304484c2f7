package io.jvirt.cli;

/** The bar of a progress line on stderr: {@code [#####.........................]}. */
final class ProgressBar {
    private static final int WIDTH = 30;

    private ProgressBar() {
    }

    static String bar(double percent) {
        int full = (int) Math.round(Math.min(100, Math.max(0, percent)) * WIDTH / 100);
        return "[" + "#".repeat(full) + ".".repeat(WIDTH - full) + "]";
    }
}
