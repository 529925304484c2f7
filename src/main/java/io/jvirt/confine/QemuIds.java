package io.jvirt.confine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

/**
 * One numeric uid per running VM's QEMU, from a configured range ({@code --qemu-uids FIRST-LAST}); its gid is the
 * same number. No passwd or group entry is needed: {@code setpriv} and the kernel work with numbers, and ACL
 * entries name numbers. So a compromised QEMU holds only its own VM's files (every grant is for its uid alone) and
 * cannot signal or ptrace another VM's QEMU (different uid, no capabilities).
 *
 * <p>Durability comes from the {@link AccessLedger}: every grant of a VM is recorded there with its uid (write,
 * fsync, rename, fsync directory) before any ACL changes and before QEMU starts, so a restarted daemon rebuilds the
 * allocations from the ledger ({@link AccessLedger#uidsByHolder}) and keeps them only for VMs whose QEMU still
 * runs ({@link #reconcile}); a uid is never handed to a second VM while the first's QEMU may still run. One
 * durable write per start instead of two.
 */
public final class QemuIds {
    private final int first;
    private final int last;
    private final Map<String, Integer> byVm = new TreeMap<>();

    /** The range, with the allocations a previous daemon left (from the ledger). */
    public QemuIds(int first, int last, Map<String, Integer> held) {
        if (first <= 0 || last < first) {
            throw new IllegalArgumentException("a QEMU uid range is FIRST-LAST with 0 < FIRST <= LAST, got " + first + "-" + last);
        }
        this.first = first;
        this.last = last;
        byVm.putAll(held);
    }

    /** {@code FIRST-LAST}, e.g. {@code 70000-70255}. */
    public static int[] parseRange(String range) {
        String[] p = range.strip().split("-");
        try {
            if (p.length == 2) {
                return new int[] {Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip())};
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("--qemu-uids takes FIRST-LAST (numbers), got '" + range + "'");
    }

    public int first() {
        return first;
    }

    public int last() {
        return last;
    }

    /** The VM's uid, allocated (and recorded) if it has none. */
    public synchronized int allocate(String vm) {
        Integer had = byVm.get(vm);
        if (had != null && had >= first && had <= last) {
            return had;
        }
        Set<Integer> used = Set.copyOf(byVm.values());
        for (int uid = first; uid <= last; uid++) {
            if (!used.contains(uid)) {
                byVm.put(vm, uid); // made durable by the VM's first grant, before its QEMU starts
                return uid;
            }
        }
        throw new LabelException("every QEMU uid of " + first + "-" + last + " is in use (" + byVm.size()
                + " running VMs): widen --qemu-uids");
    }

    public synchronized OptionalInt uid(String vm) {
        Integer u = byVm.get(vm);
        return u == null ? OptionalInt.empty() : OptionalInt.of(u);
    }

    /** Frees the VM's uid (its QEMU ended or never started). */
    public synchronized void free(String vm) {
        byVm.remove(vm);
    }

    /** Keeps only the VMs in {@code live}; returns the VMs whose uid was freed. */
    public synchronized List<String> reconcile(Set<String> live) {
        List<String> freed = new ArrayList<>();
        for (String vm : List.copyOf(byVm.keySet())) {
            if (!live.contains(vm)) {
                freed.add(vm);
            }
        }
        freed.forEach(byVm::remove);
        return freed;
    }

    /**
     * Why the range cannot be used here, or null: a uid or gid in it that a passwd or group entry (NSS), or a
     * subordinate range of /etc/subuid or /etc/subgid, already gives someone.
     */
    public static String conflict(int first, int last) {
        for (String db : List.of("passwd", "group")) {
            Tool.Result r = Tool.run(List.of("getent", db), 20);
            if (r.ok()) {
                for (String line : r.stdout().split("\n")) {
                    String[] f = line.split(":");
                    if (f.length > 2) {
                        try {
                            int id = Integer.parseInt(f[2]);
                            if (id >= first && id <= last) {
                                return db + " entry " + f[0] + " has id " + id + ", inside --qemu-uids " + first + "-" + last;
                            }
                        } catch (NumberFormatException ignored) {
                            // not a number
                        }
                    }
                }
            }
        }
        for (Path sub : List.of(Path.of("/etc/subuid"), Path.of("/etc/subgid"))) {
            try {
                if (Files.isReadable(sub)) {
                    for (String line : Files.readAllLines(sub)) {
                        String[] f = line.strip().split(":");
                        if (f.length == 3) {
                            long start = Long.parseLong(f[1]);
                            long end = start + Long.parseLong(f[2]) - 1;
                            if (start <= last && end >= first) {
                                return sub + " gives " + f[0] + " " + start + "-" + end + ", which overlaps --qemu-uids "
                                        + first + "-" + last;
                            }
                        }
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // unreadable or malformed: not ours to judge
            }
        }
        return null;
    }

}
