package io.jvirt.stats;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The groups of a VM's statistics, as libvirt's {@code domstats} has them (plus {@code job}). */
public enum StatsGroup {
    STATE, CPU, BALLOON, VCPU, INTERFACE, BLOCK, IOTHREAD,
    /** KVM's own counters (query-stats); absent, not zero, when the VM does not run under KVM. */
    VM,
    /** Progress of long jobs (block copy, migration), and how recent ones ended. */
    JOB;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Groups from a comma-separated list ("cpu,block"); empty or null: all of them. */
    public static Set<StatsGroup> parse(String list) {
        if (list == null || list.isBlank()) {
            return EnumSet.allOf(StatsGroup.class);
        }
        Set<StatsGroup> out = EnumSet.noneOf(StatsGroup.class);
        for (String s : list.split(",")) {
            String w = s.strip().toLowerCase(Locale.ROOT);
            if (w.equals("cpu-total")) {
                w = "cpu"; // libvirt's name of the group
            }
            try {
                out.add(StatsGroup.valueOf(w.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "unknown stats group '" + s.strip()
                        + "' (state, cpu, balloon, vcpu, interface, block, iothread, vm, job)");
            }
        }
        return out;
    }
}
