package io.jvirt.storage;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes as people write them (bytes, or a number with K, M, G, T: binary units, as qemu-img reads them) and as
 * the daemon writes them in its messages. The daemon's one size parser and byte formatter (the CLI has its own).
 */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,15})\\s*([KMGT]?)(i?B)?", Pattern.CASE_INSENSITIVE);
    private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB"};
    /** qemu-img's own ceiling is lower for some formats; this keeps arithmetic far from overflow. */
    static final long MAX = 1L << 50;

    private Sizes() {
    }

    /** A volume size: {@code invalid-volume} when it is not one. */
    public static long parse(String text) {
        return parse(text, ErrorCode.INVALID_VOLUME);
    }

    /** A size from 1 byte to 1 PiB; {@code code} is the error a bad one gets. */
    public static long parse(String text, ErrorCode code) {
        Matcher m = text == null ? null : SIZE.matcher(text.strip());
        if (m == null || !m.matches()) {
            throw new JvirtException(code, "invalid size '" + text
                    + "': use bytes or a number with K, M, G or T (e.g. 64M)", Map.of("size", String.valueOf(text)));
        }
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return check(Long.parseLong(m.group(1)) << shift, code);
    }

    public static long check(long bytes) {
        return check(bytes, ErrorCode.INVALID_VOLUME);
    }

    private static long check(long bytes, ErrorCode code) {
        if (bytes <= 0 || bytes > MAX) {
            throw new JvirtException(code, "size must be between 1 byte and 1 PiB, got " + bytes, Map.of("size", bytes));
        }
        return bytes;
    }

    /** 1536 -> "1.5 KiB"; below 1 KiB in bytes. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < UNITS.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[u]);
    }
}
