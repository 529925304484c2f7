package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte counts for people on this side of the API: formatting in binary units, and parsing of the sizes typed as
 * options the CLI uses itself. Sizes sent on to the daemon (e.g. {@code vol create --size}) go as typed: it parses
 * them by its own rules.
 */
final class Bytes {
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    private static final Pattern SIZE = Pattern.compile("([0-9]+)\\s*([KMGT]?)(I?B)?");

    private Bytes() {
    }

    /** {@code 67108864} with 2 decimals is {@code 64.00 MiB}; below 1 KiB always {@code N B}. */
    static String format(long bytes, int decimals) {
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < UNITS.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%." + decimals + "f %s", v, UNITS[u]);
    }

    /** A byte count of an API object as virsh shows it ({@code 64.00 MiB}); "-" when it is not a number. */
    static String format(JsonNode n) {
        return n == null || !n.isNumber() ? "-" : format(n.asLong(), 2);
    }

    /**
     * A size as users type it: bytes, or a number with K, M, G or T (binary units; {@code KiB} and {@code KB} too).
     *
     * @throws IllegalArgumentException naming {@code text}
     */
    static long parse(String text) {
        Matcher m = SIZE.matcher(text == null ? "" : text.trim().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (bytes, or a number with K, M, G or T)");
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        try {
            long n = Long.parseLong(m.group(1));
            if (n <= (Long.MAX_VALUE >> shift)) return n << shift;
        } catch (NumberFormatException e) {
            // more digits than a long holds
        }
        throw new IllegalArgumentException("size '" + text + "' is out of range");
    }
}
