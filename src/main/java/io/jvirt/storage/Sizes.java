package io.jvirt.storage;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as people write them: bytes, or a number with K, M, G, T (binary units, as qemu-img reads them). */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,15})\\s*([KMGT]?)(i?B)?", Pattern.CASE_INSENSITIVE);
    /** qemu-img's own ceiling is lower for some formats; this keeps arithmetic far from overflow. */
    static final long MAX = 1L << 50;

    private Sizes() {
    }

    public static long parse(String text) {
        Matcher m = text == null ? null : SIZE.matcher(text.strip());
        if (m == null || !m.matches()) {
            throw new JvirtException(ErrorCode.INVALID_VOLUME, "invalid size '" + text
                    + "': use bytes or a number with K, M, G or T (e.g. 64M)", Map.of("size", String.valueOf(text)));
        }
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return check(Long.parseLong(m.group(1)) << shift);
    }

    public static long check(long bytes) {
        if (bytes <= 0 || bytes > MAX) {
            throw new JvirtException(ErrorCode.INVALID_VOLUME, "size must be between 1 byte and 1 PiB, got " + bytes,
                    Map.of("size", bytes));
        }
        return bytes;
    }
}
