package io.jvirt.confine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.jvirt.files.FileModes;
import io.jvirt.store.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Grants QEMU's user exactly the files of its VM with POSIX ACL entries, and records every file's original state
 * durably <em>before</em> touching it, so that whatever dies (QEMU, the daemon, the host) every file gets its
 * original access back: on stop ({@link #release}), at the next reconcile after a crash ({@link #reconcile}) or
 * all at once ({@link #restoreAll}).
 *
 * <p>Why ACLs and not chown: adding one named-user entry ({@code user:jvirt-qemu:rw-}) leaves owner, group and
 * mode as the admin set them, so nobody else loses access while a VM runs (a chown or chgrp would take it from
 * the file's owner or group); QEMU is never the owner, so it cannot chmod its way into more; and giving it back
 * means removing that one entry, which never undoes what someone else changed meanwhile. A file needed by two
 * VMs (a shared read-only base, a directory on the way to both) has one entry and the set of its holders; the
 * entry goes when the last holder releases it.
 *
 * <p>The ledger ({@code DIR/ledger.json}, written, fsynced, renamed and its directory fsynced) holds, per file:
 * the uid the entry is for, the file's original owner, group, mode, ACL, inode and any entry the admin had
 * already given that uid, and its holders with what each needs. Restoring compares the result with the original
 * and <em>reports</em> differences (a chmod by someone else, a file replaced or gone) instead of forcing the
 * original back: the only thing jvirt takes back is what it gave.
 *
 * <p>One lock for the ledger: held for the two tool runs of a grant or release (a few ms), never across anything
 * slow.
 */
public final class AccessLedger {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** A file as it was before jvirt's first grant on it. */
    public record Original(int uid, int gid, int mode, List<String> acl, String fileKey, String previousEntry) {
    }

    /** A file jvirt gave {@code uid} access to, and who needs it ({@code holder -> perms}). */
    public record Entry(String path, int uid, Original original, Map<String, String> holders) {
    }

    private record LedgerFile(int version, List<Entry> entries) {
    }

    private final Path file;
    private final Acl acl;
    private final Map<String, Entry> entries = new TreeMap<>();

    /** Opens (creating its 0700 directory) the ledger in {@code dir}, with what a previous daemon left in it. */
    public AccessLedger(Path dir) {
        this(dir, new Acl(30));
    }

    AccessLedger(Path dir, Acl acl) {
        this.acl = acl;
        try {
            FileModes.createDirectories(dir, FileModes.PRIVATE_DIR);
            this.file = dir.resolve("ledger.json");
            if (Files.exists(file)) {
                for (Entry e : JSON.readValue(file.toFile(), LedgerFile.class).entries()) {
                    entries.put(key(e.uid(), Path.of(e.path())), e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the access ledger in " + dir, e);
        }
    }

    /**
     * Gives {@code user} the access of {@code grants} for {@code holder} (a VM name). Paths must be real paths.
     * Recorded first, applied second: a crash in between leaves a record whose removal finds nothing to remove.
     * If applying fails, everything {@code holder} holds is released again (a start that cannot label fails whole).
     */
    public synchronized void grant(String holder, QemuUser user, List<Grant> grants) {
        Map<Path, String> wanted = new LinkedHashMap<>();
        for (Grant g : grants) {
            if (!Files.exists(g.path(), LinkOption.NOFOLLOW_LINKS)) {
                throw new LabelException("cannot grant " + user.name() + " access to " + g.path() + ": no such file");
            }
            wanted.merge(g.path(), g.access().perms(), Grant::union);
        }
        List<Path> fresh = wanted.keySet().stream().filter(p -> !entries.containsKey(key(user.uid(), p))).toList();
        Map<Path, Acl.State> before = acl.read(fresh);
        before.forEach((p, s) -> {
            if (s.maskRestricts()) {
                throw new LabelException(p + ": its ACL mask hides permissions of its own entries (" + s.describe()
                        + "); adding " + user.name() + " would widen them, so jvirt does not label it");
            }
        });
        Map<String, Entry> updated = new TreeMap<>(entries);
        Map<Path, String> apply = new LinkedHashMap<>();
        wanted.forEach((p, perms) -> {
            String k = key(user.uid(), p);
            Entry e = updated.get(k);
            if (e == null) {
                Acl.State s = before.get(p);
                // per-VM uids: a file another VM's QEMU already holds (a shared base) keeps the original recorded
                // by that first grant, so the last release compares with the file as it was before jvirt
                Original first = originalOf(updated, p);
                e = new Entry(p.toString(), user.uid(), first != null
                        ? new Original(first.uid(), first.gid(), first.mode(), first.acl(), first.fileKey(), s.entryFor(user.uid()))
                        : new Original(s.uid(), s.gid(), s.mode(), s.entries(), s.fileKey(), s.entryFor(user.uid())), Map.of());
            }
            Map<String, String> holders = new TreeMap<>(e.holders());
            holders.merge(holder, perms, Grant::union);
            Entry next = new Entry(e.path(), e.uid(), e.original(), holders);
            updated.put(k, next);
            apply.put(p, effective(next));
        });
        persist(updated);
        entries.clear();
        entries.putAll(updated);
        try {
            acl.set(user.uid(), apply);
        } catch (LabelException e) {
            release(holder);
            throw e;
        }
    }

    /** Takes back everything {@code holder} was given; returns what did not come back exactly as recorded. */
    public synchronized List<String> release(String holder) {
        return releaseWhere(h -> h.equals(holder));
    }

    /** After a restart: releases every holder not in {@code live} (the VMs whose QEMU is still running). */
    public synchronized List<String> reconcile(Set<String> live) {
        return releaseWhere(h -> !live.contains(h));
    }

    /** Gives every recorded file its original access back (idempotent: a second call finds nothing). */
    public synchronized List<String> restoreAll() {
        return releaseWhere(h -> true);
    }

    /** The uid each holder's entries are for (per-VM QEMU uids: one per VM), as recorded. */
    public synchronized Map<String, Integer> uidsByHolder() {
        Map<String, Integer> out = new TreeMap<>();
        entries.values().forEach(e -> e.holders().keySet().forEach(h -> out.putIfAbsent(h, e.uid())));
        return out;
    }

    /** Holders and the files they hold, for {@code info} and tests. */
    public synchronized Map<String, List<Path>> holdings() {
        Map<String, List<Path>> out = new TreeMap<>();
        entries.values().forEach(e -> e.holders().keySet().forEach(h ->
                out.computeIfAbsent(h, k -> new ArrayList<>()).add(Path.of(e.path()))));
        return out;
    }

    private List<String> releaseWhere(java.util.function.Predicate<String> gone) {
        Map<String, Entry> updated = new TreeMap<>(entries);
        Map<Integer, List<Entry>> restore = new TreeMap<>();
        Map<Integer, Map<Path, String>> narrow = new TreeMap<>();
        for (Entry e : entries.values()) {
            Map<String, String> holders = new TreeMap<>(e.holders());
            if (!holders.keySet().removeIf(gone)) {
                continue;
            }
            Entry next = new Entry(e.path(), e.uid(), e.original(), holders);
            if (holders.isEmpty()) {
                restore.computeIfAbsent(e.uid(), u -> new ArrayList<>()).add(e);
                updated.remove(key(e.uid(), Path.of(e.path())));
            } else {
                updated.put(key(e.uid(), Path.of(e.path())), next);
                if (!effective(next).equals(effective(e))) {
                    narrow.computeIfAbsent(e.uid(), u -> new LinkedHashMap<>()).put(Path.of(e.path()), effective(next));
                }
            }
        }
        List<String> report = new ArrayList<>();
        narrow.forEach((uid, perms) -> acl.set(uid, present(perms)));
        Set<String> stillHeld = new java.util.HashSet<>();
        updated.values().forEach(e -> stillHeld.add(e.path()));
        restore.forEach((uid, list) -> report.addAll(giveBack(uid, list, stillHeld)));
        persist(updated); // only once the files are back: a crash before this repeats the (idempotent) removal
        entries.clear();
        entries.putAll(updated);
        return report;
    }

    /** Removes (or puts back the admin's own) entry of {@code uid} and compares each file with its original. */
    private List<String> giveBack(int uid, List<Entry> list, Set<String> stillHeld) {
        List<String> report = new ArrayList<>();
        List<Path> remove = new ArrayList<>();
        List<Path> removeKeepingMask = new ArrayList<>();
        Map<Path, String> putBack = new LinkedHashMap<>();
        Map<Path, Acl.State> held = acl.read(list.stream().map(e -> Path.of(e.path())).toList());
        for (Entry e : list) {
            Path p = Path.of(e.path());
            Acl.State s = held.get(p);
            if (s == null) {
                report.add(p + ": gone (nothing to give back)");
            } else if (e.original().previousEntry() != null) {
                putBack.put(p, e.original().previousEntry());
            } else if (s.maskAsComputed()) {
                remove.add(p);
            } else {
                removeKeepingMask.add(p); // someone chmod-ed the group bits while we held it: keep their choice
            }
        }
        acl.remove(uid, remove, false);
        acl.remove(uid, removeKeepingMask, true);
        acl.set(uid, putBack);
        Map<Path, Acl.State> now = acl.read(list.stream().map(e -> Path.of(e.path())).toList());
        List<Path> strip = new ArrayList<>();
        for (Entry e : list) {
            Acl.State s = now.get(Path.of(e.path()));
            if (s != null && !stillHeld.contains(e.path()) && s.onlyMaskLeft() && !Acl.isExtended(e.original().acl())) {
                strip.add(Path.of(e.path()));
            }
        }
        acl.strip(strip);
        if (!strip.isEmpty()) {
            now.putAll(acl.read(strip));
        }
        for (Entry e : list) {
            Acl.State s = now.get(Path.of(e.path()));
            if (s != null && !stillHeld.contains(e.path())) { // another VM's QEMU still holds it: compared at its release
                String diff = differences(e.original(), s);
                if (!diff.isEmpty()) {
                    report.add(e.path() + ": changed by someone else while jvirt held it (" + diff
                            + "); jvirt took back only its own entry and kept the rest");
                }
            }
        }
        return report;
    }

    private static String differences(Original o, Acl.State s) {
        List<String> d = new ArrayList<>();
        if (!String.valueOf(o.fileKey()).equals(s.fileKey())) {
            d.add("replaced by another file");
        }
        if (o.uid() != s.uid() || o.gid() != s.gid()) {
            d.add("owner " + o.uid() + ":" + o.gid() + " -> " + s.uid() + ":" + s.gid());
        }
        if (o.mode() != s.mode()) {
            d.add(String.format("mode 0%03o -> 0%03o", o.mode(), s.mode()));
        }
        if (!o.acl().equals(s.entries())) {
            d.add("acl " + String.join(",", o.acl()) + " -> " + String.join(",", s.entries()));
        }
        return String.join(", ", d);
    }

    /** What the uid's entry must allow: every holder's need, plus what the admin had given it before jvirt. */
    private static String effective(Entry e) {
        String perms = e.original().previousEntry();
        for (String p : e.holders().values()) {
            perms = Grant.union(perms, p);
        }
        return perms;
    }

    private static Map<Path, String> present(Map<Path, String> perms) {
        Map<Path, String> out = new LinkedHashMap<>(perms);
        out.keySet().removeIf(p -> !Files.exists(p, LinkOption.NOFOLLOW_LINKS));
        return out;
    }

    private void persist(Map<String, Entry> state) {
        try {
            AtomicFiles.write(file, JSON.writeValueAsBytes(new LedgerFile(1, List.copyOf(state.values()))));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the access ledger " + file, e);
        }
    }

    /** The original of a file some uid already holds, or null. */
    private static Original originalOf(Map<String, Entry> entries, Path p) {
        for (Entry e : entries.values()) {
            if (e.path().equals(p.toString())) {
                return e.original();
            }
        }
        return null;
    }

    private static String key(int uid, Path p) {
        return uid + ":" + p;
    }

    /** Files and their holders, for tests. */
    synchronized Collection<Entry> entries() {
        return List.copyOf(entries.values());
    }
}
