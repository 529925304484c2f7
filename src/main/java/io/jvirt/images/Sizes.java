package io.jvirt.images;

import java.util.Locale;

/** Disk sizes as users write them: bytes, or a number with K, M, G or T (binary units, optional "iB"/"B"). */
public final class Sizes {
    private Sizes() {
    }

    public static long parse(String text) {
        String s = text == null ? "" : text.trim().toUpperCase(Locale.ROOT);
        var m = java.util.regex.Pattern.compile("([0-9]+)\\s*([KMGT]?)(I?B)?").matcher(s);
        if (!m.matches()) {
            throw ImageException.invalid("size '" + text + "' must be bytes or a number with K, M, G or T, e.g. 8G");
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
            if (n > (Long.MAX_VALUE >> shift) || n <= 0) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw ImageException.invalid("size '" + text + "' is out of range");
        }
    }
}
