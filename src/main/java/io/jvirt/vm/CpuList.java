package io.jvirt.vm;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.regex.Pattern;

/** A Linux CPU list ({@code 0-2,5}) as a set of CPU numbers; also the host's online CPUs. */
public final class CpuList {
    private static final Pattern SYNTAX = Pattern.compile("\\d{1,4}(-\\d{1,4})?(,\\d{1,4}(-\\d{1,4})?)*");

    private CpuList() {
    }

    /** Parses {@code list}; {@code field} names it in the error. */
    public static BitSet parse(String field, String list) {
        if (list == null || !SYNTAX.matcher(list.strip()).matches()) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, field + " must be a CPU list like 0-2,5, got '"
                    + DefinitionValidator.printable(list) + "'");
        }
        BitSet cpus = new BitSet();
        for (String part : list.strip().split(",")) {
            String[] r = part.split("-");
            int from = Integer.parseInt(r[0]);
            int to = r.length == 1 ? from : Integer.parseInt(r[1]);
            if (to < from) {
                throw new JvirtException(ErrorCode.INVALID_DEFINITION, field + ": range " + part + " runs backwards");
            }
            cpus.set(from, to + 1);
        }
        return cpus;
    }

    /** The host's online CPUs ({@code /sys/devices/system/cpu/online}). */
    public static BitSet host() {
        try {
            return parse("host CPUs", Files.readString(Path.of("/sys/devices/system/cpu/online")).strip());
        } catch (IOException e) {
            BitSet all = new BitSet();
            all.set(0, Runtime.getRuntime().availableProcessors());
            return all;
        }
    }

    /** Refuses a list naming a CPU the host does not have. */
    public static String checkOnHost(String field, String list) {
        BitSet want = parse(field, list);
        BitSet host = host();
        BitSet missing = (BitSet) want.clone();
        missing.andNot(host);
        if (!missing.isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_DEFINITION, field + " names host CPU " + missing.nextSetBit(0)
                    + ", which this host does not have (online: " + format(host) + ")");
        }
        return format(want);
    }

    /** The shortest list form: {@code 0-2,5}. */
    public static String format(BitSet cpus) {
        StringBuilder b = new StringBuilder();
        for (int i = cpus.nextSetBit(0); i >= 0; ) {
            int end = cpus.nextClearBit(i) - 1;
            if (!b.isEmpty()) {
                b.append(',');
            }
            b.append(i);
            if (end > i) {
                b.append('-').append(end);
            }
            i = cpus.nextSetBit(end + 1);
        }
        return b.toString();
    }
}
