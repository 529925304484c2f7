package io.jvirt.confine;

import io.jvirt.qemu.QemuPaths;
import io.jvirt.storage.QemuImg;
import io.jvirt.vm.Confinement;
import io.jvirt.vm.VmDefinition;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM layer's {@link Confinement}, built from this package's blocks: the {@link PathPolicy} (pools, allowed
 * directories and devices, state and run directories) for every disk, backing layer, kernel and initrd;
 * {@link ImageChains} read layer by layer and passed as explicit {@code -blockdev} trees ({@link BlockdevChain});
 * {@link DiskSharing} at define and start; and, when the host can confine ({@link ConfinementProbe}), QEMU started
 * as its VM's own uid ({@link QemuIds}) with seccomp, granted exactly its files by ACL entries
 * ({@link AccessLedger}, {@code STATE/labels}).
 */
public final class VmConfinement implements Confinement {
    private static final Logger log = LoggerFactory.getLogger(VmConfinement.class);

    /**
     * What the policy is made of; {@code pools} and {@code allowDirs} are asked on every check (pools come and go,
     * the admin API's {@code allow-dir} adds and removes directories at run time).
     */
    public record Settings(Path stateDir, Path runDir, Supplier<List<Path>> allowDirs, List<Path> allowDevices,
                           Supplier<Map<String, Path>> pools, QemuImg qemuImg) {
    }

    private final Settings settings;
    private final ConfinementProbe.Result probe;
    private final QemuIds ids;
    private final AccessLedger ledger;
    private final Integer kvmGid = QemuUser.kvmGroup();
    /** The checked chains of each VM's disks, as last read (define, start). */
    private final Map<String, Chains> chains = new ConcurrentHashMap<>();

    private record Chains(List<String> paths, List<DiskSharing.Disk> disks) {
    }

    private VmConfinement(Settings settings, ConfinementProbe.Result probe, QemuIds ids, AccessLedger ledger) {
        this.settings = settings;
        this.probe = probe;
        this.ids = ids;
        this.ledger = ledger;
    }

    /**
     * Probes the host once (per-VM uids {@code first..last} with setpriv, ACLs on the state directory, seccomp in
     * {@code emulator}) unless {@code disabled}; the policy is checked at once, so a bad {@code --allow-dir} stops
     * the daemon before it serves.
     */
    public static VmConfinement open(Settings settings, int first, int last, Path emulator, boolean disabled) {
        ConfinementProbe.Result probe;
        if (disabled) {
            probe = new ConfinementProbe.Result(ConfinementProbe.Mode.ROOT, null, List.of("--no-confine"));
        } else {
            String conflict = QemuIds.conflict(first, last);
            if (conflict != null) {
                throw new IllegalArgumentException(conflict + "; choose a free range with --qemu-uids");
            }
            probe = ConfinementProbe.probe(new QemuUser("uid " + first, first, first, QemuUser.kvmGroup()),
                    settings.stateDir(), emulator);
        }
        QemuIds ids = null;
        AccessLedger ledger = null;
        Path labels = settings.stateDir().resolve("labels");
        if (probe.mode() == ConfinementProbe.Mode.CONFINED || java.nio.file.Files.exists(labels.resolve("ledger.json"))) {
            ledger = new AccessLedger(labels); // also when no longer confined: what a previous run granted is taken back
        }
        if (probe.mode() == ConfinementProbe.Mode.CONFINED) {
            ids = new QemuIds(first, last, ledger.uidsByHolder());
        }
        VmConfinement c = new VmConfinement(settings, probe, ids, ledger);
        c.policy();
        return c;
    }

    public ConfinementProbe.Result probe() {
        return probe;
    }

    public boolean confined() {
        return probe.mode() == ConfinementProbe.Mode.CONFINED;
    }

    /** One line for the log and {@code info}. */
    public String summary() {
        if (confined()) {
            return "QEMU runs as a uid of its own per VM (" + ids.first() + "-" + ids.last() + ") with seccomp, "
                    + "granted only its VM's files";
        }
        return probe.summary();
    }

    /** The policy as of now: pools may have been defined or undefined since the last check. */
    public PathPolicy policy() {
        PathPolicy.Builder b = PathPolicy.builder().stateDir(settings.stateDir()).stateDir(settings.runDir());
        settings.pools().get().forEach(b::pool);
        settings.allowDirs().get().forEach(b::allowDir);
        settings.allowDevices().forEach(b::allowDevice);
        return b.build();
    }

    /** For {@code storage.PoolManager}: a new pool's directory must pass {@link PathPolicy#checkRoot}. */
    public void checkPoolRoot(String name, Path dir) {
        policy().checkRoot("pool '" + name + "'", dir);
    }

    @Override
    public VmDefinition checkFiles(VmDefinition d) {
        PathPolicy policy = policy();
        VmDefinition.Boot boot = d.boot();
        if (boot != null) {
            boot = new VmDefinition.Boot(
                    boot.kernel() == null ? null : policy.checkFile("boot.kernel", Path.of(boot.kernel())).toString(),
                    boot.initrd() == null ? null : policy.checkFile("boot.initrd", Path.of(boot.initrd())).toString(),
                    boot.cmdline());
        }
        ImageChains reader = new ImageChains(settings.qemuImg(), policy);
        List<VmDefinition.Disk> disks = new ArrayList<>();
        List<DiskSharing.Disk> checked = new ArrayList<>();
        List<VmDefinition.Disk> in = d.diskList();
        for (int i = 0; i < in.size(); i++) {
            VmDefinition.Disk disk = in.get(i);
            ImageChain chain = reader.read("disks[" + i + "].path", Path.of(disk.path()), disk.format());
            disks.add(disk.withImage(new io.jvirt.vm.DiskImage(chain.top().path().toString(), disk.format())));
            checked.add(new DiskSharing.Disk(disk.name(), chain, !disk.writable()));
        }
        VmDefinition out = d.withDisks(disks).withBoot(boot);
        chains.put(d.name(), new Chains(out.diskList().stream().map(VmDefinition.Disk::path).toList(), checked));
        return out;
    }

    @Override
    public void checkSharing(VmDefinition d, Collection<VmDefinition> others) {
        List<DiskSharing.VmDisks> rivals = new ArrayList<>();
        for (VmDefinition o : others) {
            if (!o.name().equals(d.name())) {
                DiskSharing.VmDisks v = disksOf(o);
                if (v != null) {
                    rivals.add(v);
                }
            }
        }
        DiskSharing.VmDisks mine = disksOf(d);
        if (mine != null) {
            DiskSharing.check(mine, rivals);
        }
    }

    /** The VM's checked chains (as last read when the paths still match, else read now); null if unreadable. */
    private DiskSharing.VmDisks disksOf(VmDefinition d) {
        List<String> paths = d.diskList().stream().map(VmDefinition.Disk::path).toList();
        Chains c = chains.get(d.name());
        if (c == null || !c.paths().equals(paths)) {
            try {
                checkFiles(d);
            } catch (RuntimeException e) {
                log.debug("VM {}: chains not readable for the sharing check: {}", d.name(), e.getMessage());
                return null; // a VM whose files are gone or refused cannot start either
            }
            c = chains.get(d.name());
        }
        return new DiskSharing.VmDisks(d.name(), c.disks());
    }

    @Override
    public Path checkNewFile(String field, Path path) {
        return policy().checkNewFile(field, path);
    }

    @Override
    public DiskChain diskChain(VmDefinition d, String disk) {
        VmDefinition checked = checkFiles(d); // reads every chain again: images change between define and attach
        int i = 0;
        for (VmDefinition.Disk x : checked.diskList()) {
            if (x.name().equals(disk)) {
                DiskSharing.Disk c = chains.get(d.name()).disks().get(i);
                List<String> nodes = BlockdevChain.nodes(disk, c.chain(), c.readOnly()).stream()
                        .map(Object::toString).toList();
                return new DiskChain(c.chain().paths(), nodes);
            }
            i++;
        }
        throw new IllegalArgumentException("VM '" + d.name() + "' has no disk " + disk);
    }

    @Override
    public Launch prepare(VmDefinition d, QemuPaths paths) {
        DiskSharing.VmDisks disks = disksOf(d);
        if (disks == null) {
            checkFiles(d); // throws what is wrong
            disks = disksOf(d);
        }
        Map<String, List<String>> blockdevs = new LinkedHashMap<>();
        for (DiskSharing.Disk disk : disks.disks()) {
            blockdevs.put(disk.name(), BlockdevChain.arguments(disk.name(), disk.chain(), disk.readOnly()));
        }
        if (!confined()) {
            return new Launch(List.of(), List.of(), blockdevs);
        }
        int uid = ids.allocate(d.name());
        QemuUser user = userOf(d.name(), uid);
        try {
            AccessPlan plan = new AccessPlan(user);
            disks.disks().forEach(disk -> plan.disk(disk.chain(), disk.readOnly()));
            PathPolicy policy = policy();
            if (d.boot() != null && d.boot().kernel() != null) {
                plan.read(policy.checkFile("boot.kernel", Path.of(d.boot().kernel())));
            }
            if (d.boot() != null && d.boot().initrd() != null) {
                plan.read(policy.checkFile("boot.initrd", Path.of(d.boot().initrd())));
            }
            plan.write(real(paths.consoleLog())).writeDir(real(paths.runDir()));
            ledger.grant(d.name(), user, plan.grants());
        } catch (RuntimeException e) {
            release(d.name());
            throw e;
        }
        List<String> suffix = new ArrayList<>(QemuConfinement.SANDBOX);
        return new Launch(QemuConfinement.prefix(user), suffix, blockdevs);
    }

    @Override
    public void grant(String vm, Path file, Access access) {
        grant(vm, java.util.List.of(file), access);
    }

    @Override
    public void grant(String vm, java.util.List<Path> files, Access access) {
        if (!confined() || files.isEmpty()) {
            return;
        }
        OptionalInt uid = ids.uid(vm);
        if (uid.isEmpty()) {
            throw new LabelException("VM '" + vm + "' has no running QEMU to grant " + files + " to");
        }
        QemuUser user = userOf(vm, uid.getAsInt());
        AccessPlan plan = new AccessPlan(user);
        Path runDir = real(settings.runDir()).resolve("vms").resolve(vm);
        for (Path file : files) {
            Path real = real(file);
            if (!real.startsWith(runDir)) {
                // a file a client named (a copy destination) is held to the same rules as a disk at define
                real = policy().checkFile("file given to VM '" + vm + "'", real);
            }
            if (access == Access.WRITE) {
                plan.write(real);
            } else {
                plan.read(real);
            }
        }
        ledger.grant(vm, user, plan.grants()); // one record, one getfacl, one setfacl for all of them
    }

    @Override
    public void release(String vm) {
        if (ledger != null) {
            for (String line : ledger.release(vm)) {
                log.warn("VM {}: {}", vm, line);
            }
        }
        if (ids != null) {
            ids.free(vm);
        }
    }

    @Override
    public void reconcile(Set<String> live) {
        if (ledger != null) {
            for (String line : ledger.reconcile(live)) {
                log.warn("reconcile: {}", line);
            }
        }
        if (ids != null) {
            List<String> freed = ids.reconcile(live);
            if (!freed.isEmpty()) {
                log.info("reconcile: QEMU uids of {} freed (their QEMU is gone)", freed);
            }
        }
    }

    @Override
    public OptionalInt uid(String vm) {
        return ids == null ? OptionalInt.empty() : ids.uid(vm);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", switch (probe.mode()) {
            case CONFINED -> "per-vm-uid";
            case DAEMON_USER -> "daemon-user";
            case ROOT -> "root";
        });
        m.put("summary", summary());
        m.put("highPrivileges", probe.mode() == ConfinementProbe.Mode.ROOT);
        if (ids != null) {
            m.put("qemuUids", ids.first() + "-" + ids.last());
        }
        m.put("allowedDirs", settings.allowDirs().get().stream().map(Path::toString).toList());
        return m;
    }

    /** The ledger (tests, and {@code restoreAll} tooling). */
    public AccessLedger ledger() {
        return ledger;
    }

    private QemuUser userOf(String vm, int uid) {
        return new QemuUser("the QEMU of VM " + vm + " (uid " + uid + ")", uid, uid, kvmGid);
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (java.io.IOException e) {
            throw new LabelException("cannot grant " + p + ": " + e.getMessage());
        }
    }
}
