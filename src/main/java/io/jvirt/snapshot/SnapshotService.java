package io.jvirt.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpException;
import io.jvirt.storage.QemuImg;
import io.jvirt.storage.QemuImgException;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.DiskImage;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.vm.PendingJob;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import io.jvirt.vm.VmRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VM snapshots: create (internal, external, with memory), list, revert, delete, and recovery of any of these
 * left half-done by a daemon that died. Every job holds the VM's job slot; every step that changes images or the
 * definition is preceded by a durable intent (see docs/snapshots.md for the step x recovery table).
 */
public final class SnapshotService {
    static final String TREE = "snapshots";
    static final String INTENT = "snapshot-intent";
    private static final Logger log = LoggerFactory.getLogger(SnapshotService.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(30);
    private final VmManager vms;
    private final DocumentStore store;
    private final QemuImg qemuImg;

    public SnapshotService(VmManager vms, DocumentStore store, QemuImg qemuImg) {
        this.vms = vms;
        this.store = store;
        this.qemuImg = qemuImg;
    }

    /**
     * Creates the service for this daemon and registers its recoveries; call before {@code loadAndRecover}.
     */
    public static SnapshotService install(VmManager vms, DocumentStore store) {
        SnapshotService s = new SnapshotService(vms, store, new QemuImg());
        for (String job : List.of("snapshot-create", "snapshot-revert", "snapshot-delete")) {
            vms.registerRecovery(job, s::recover);
        }
        return s;
    }

    // ---- queries -------------------------------------------------------------------------------------------

    public SnapshotTree tree(String vm) {
        vms.get(vm); // vm-not-found
        return store.get(vm, TREE, SnapshotTree.class).orElse(SnapshotTree.empty());
    }

    /** What QEMU runs each disk on right now (query-block), or an empty map when the VM is not running. */
    public Map<String, Object> liveTops(String vm) {
        return vms.runJob(vm, "snapshot-query", Duration.ofSeconds(30), ctx -> {
            Map<String, Object> out = new LinkedHashMap<>();
            ctx.qemu().ifPresent(q -> BlockTops.query(q.qmp()).byDisk().forEach((disk, top) ->
                    out.put(disk, Map.of("node", top.node(), "file", top.file(), "snapshots", top.snapshots()))));
            return out;
        });
    }

    public Snapshot info(String vm, String name) {
        return tree(vm).find(name).orElseThrow(() -> notFound(vm, name));
    }

    // ---- create --------------------------------------------------------------------------------------------

    public PendingJob<Snapshot> prepareCreate(String vm, SnapshotRequest req, String operationId, Duration queue) {
        Plan[] plan = new Plan[1];
        return vms.prepareJob(vm, "snapshot-create", operationId, queue,
                ctx -> plan[0] = plan(ctx, req),
                ctx -> create(ctx, plan[0]));
    }

    /** Everything checked before anything changes. */
    private record Plan(SnapshotRequest req, String kind, boolean running, List<VmDefinition.Disk> disks) {
    }

    private Plan plan(VmJobContext ctx, SnapshotRequest req) {
        String vm = ctx.vmName();
        if (req == null || req.name() == null || !NAME.matcher(req.name()).matches()) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "snapshot name must match " + NAME.pattern(),
                    Map.of("name", req == null || req.name() == null ? "" : req.name()));
        }
        if (tree(vm).find(req.name()).isPresent()) {
            throw new JvirtException(ErrorCode.SNAPSHOT_EXISTS, "VM '" + vm + "' already has a snapshot '" + req.name() + "'",
                    Map.of("vm", vm, "snapshot", req.name()));
        }
        boolean running = ctx.qemu().isPresent();
        if (req.wantsMemory() && Boolean.TRUE.equals(req.diskOnly())) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "--memory and --disk-only exclude each other");
        }
        if (req.wantsMemory() && !running) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "a memory snapshot needs a running VM; '" + vm + "' is "
                    + ctx.state().wire(), Map.of("vm", vm, "state", ctx.state().wire()));
        }
        if (req.wantsMemory() && req.disks() != null) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "a memory snapshot covers every writable disk; --disk cannot be given");
        }
        List<VmDefinition.Disk> all = ctx.definition().disks() == null ? List.of() : ctx.definition().disks();
        List<VmDefinition.Disk> chosen = new ArrayList<>();
        if (req.disks() == null) {
            all.stream().filter(d -> !Boolean.TRUE.equals(d.readOnly())).forEach(chosen::add);
        } else {
            for (String name : req.disks()) {
                VmDefinition.Disk d = all.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() ->
                        new JvirtException(ErrorCode.DISK_NOT_FOUND, "VM '" + vm + "' has no disk '" + name + "'",
                                Map.of("vm", vm, "disk", name)));
                if (chosen.contains(d)) {
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "disk '" + name + "' is named twice");
                }
                chosen.add(d);
            }
        }
        if (chosen.isEmpty()) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "VM '" + vm + "' has no writable disk to snapshot",
                    Map.of("vm", vm));
        }
        String kind = req.wantsExternal() ? "external" : "internal";
        for (VmDefinition.Disk d : chosen) {
            if (Boolean.TRUE.equals(d.readOnly())) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "disk '" + d.name() + "' is read-only", Map.of("disk", d.name()));
            }
            if (kind.equals("internal") && !"qcow2".equals(d.format())) {
                throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "an internal snapshot needs qcow2; disk '" + d.name()
                        + "' is " + d.format() + " (use --external)", Map.of("disk", d.name(), "format", d.format()));
            }
        }
        if (kind.equals("internal")) {
            for (VmDefinition.Disk d : chosen) {
                if (internalNames(ctx, d).contains(req.name())) {
                    throw new JvirtException(ErrorCode.SNAPSHOT_EXISTS, "snapshot '" + req.name() + "' already exists on disk '"
                            + d.name() + "'", Map.of("vm", vm, "disk", d.name(), "snapshot", req.name()));
                }
            }
        } else {
            if (req.wantsMemory()) {
                Path mem = memoryPath(ctx.vmName(), chosen.get(0), req.name());
                if (Files.exists(mem, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        || Files.exists(Path.of(mem + ".part"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the memory file already exists: " + mem,
                            Map.of("path", mem.toString()));
                }
            }
            for (VmDefinition.Disk d : chosen) {
                Path overlay = overlayPath(ctx.vmName(), d, req.name());
                if (Files.exists(overlay, java.nio.file.LinkOption.NOFOLLOW_LINKS)) { // never write through a planted link
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the overlay for disk '" + d.name() + "' already exists: "
                            + overlay, Map.of("disk", d.name(), "path", overlay.toString()));
                }
            }
        }
        return new Plan(req, kind, running, List.copyOf(chosen));
    }

    private List<String> internalNames(VmJobContext ctx, VmDefinition.Disk d) {
        Optional<QmpClient> qmp = ctx.qemu().map(q -> q.qmp());
        if (qmp.isPresent()) {
            BlockTops.Top top = BlockTops.query(qmp.get()).top(d.name());
            return top == null ? List.of() : top.snapshots();
        }
        List<String> names = new ArrayList<>();
        for (JsonNode s : qemuImg.info(Path.of(d.path()), false).path("snapshots")) {
            names.add(s.path("name").asText());
        }
        return names;
    }

    /** RAM + device state of an external memory snapshot: next to the first disk's overlay. */
    static Path memoryPath(String vm, VmDefinition.Disk first, String snapshot) {
        return Path.of(first.path()).toAbsolutePath().getParent().resolve(vm + "-" + snapshot + ".mem");
    }

    static Path overlayPath(String vm, VmDefinition.Disk d, String snapshot) {
        Path dir = Path.of(d.path()).toAbsolutePath().getParent();
        return dir.resolve(vm + "-" + d.name() + "-" + snapshot + ".qcow2");
    }

    private Snapshot create(VmJobContext ctx, Plan plan) {
        String vm = ctx.vmName();
        SnapshotTree tree = tree(vm);
        List<Snapshot.DiskSnapshot> disks = new ArrayList<>();
        List<SnapshotIntent.DiskChange> changes = new ArrayList<>();
        String tag = Long.toHexString(System.nanoTime() & 0xffffffL);
        for (VmDefinition.Disk d : plan.disks()) {
            if (plan.kind().equals("external")) {
                Path overlay = overlayPath(vm, d, plan.req().name());
                disks.add(new Snapshot.DiskSnapshot(d.name(), d.path(), d.format(), overlay.toString()));
                changes.add(new SnapshotIntent.DiskChange(d.name(), d.path(), d.format(), overlay.toString(),
                        "sf" + tag + "-" + d.name(), "sn" + tag + "-" + d.name()));
            } else {
                disks.add(new Snapshot.DiskSnapshot(d.name(), d.path(), d.format(), null));
            }
        }
        boolean externalMemory = plan.req().wantsMemory() && plan.kind().equals("external");
        Snapshot snap = new Snapshot(plan.req().name(), tree.current(), Instant.now(), plan.kind(), plan.req().wantsMemory(),
                plan.running() ? ctx.state().wire() : "shutoff", List.copyOf(disks), null,
                externalMemory ? memoryPath(vm, plan.disks().get(0), plan.req().name()).toString() : null);
        String op = externalMemory ? "create-external-memory" : plan.req().wantsMemory() ? "create-memory" : "create-" + plan.kind();
        intend(ctx, new SnapshotIntent(op, snap, plan.running(), changes));

        Quiesce quiesce = plan.req().wantsQuiesce() && plan.running() ? Quiesce.freeze(vms.paths(vm).agentSocket())
                : Quiesce.none(plan.req().wantsQuiesce());
        Snapshot done;
        try {
            Fault.point("after-freeze");
            done = switch (op) {
                case "create-memory" -> createMemory(ctx, snap);
                case "create-external-memory" -> createExternalMemory(ctx, snap, changes);
                case "create-internal" -> plan.running() ? createInternalLive(ctx, snap) : createInternalOffline(snap);
                default -> createExternal(ctx, snap, snap, changes, plan.running(), quiesce::thaw);
            };
        } catch (RuntimeException e) {
            quiesce.thaw();
            if (ctx.isHeld() || isDefinitionNotWritten(e)) {
                // QEMU switched, the definition could not follow: the guest is held and the hold's retry (resume,
                // start, or recovery after a restart) finishes the snapshot; or nothing had switched and nothing stays
                throw withQuiesce(e, quiesce);
            }
            // An external snapshot can fail after QEMU switched (e.g. the definition update): ask QEMU, as a
            // restarted daemon would, and keep whichever chain it really runs on.
            if (op.equals("create-external") && recoverExternalCreate(ctx, new SnapshotIntent(op, snap, plan.running(), changes))) {
                store.remove(vm, INTENT);
                return snap;
            }
            if (op.equals("create-external-memory")) {
                failExternalMemory(ctx, snap, changes, e); // throws
            }
            store.remove(vm, INTENT);
            throw withQuiesce(e, quiesce);
        }
        quiesce.thaw();
        store.put(vm, TREE, tree.with(done));
        store.remove(vm, INTENT);
        return done;
    }

    private static RuntimeException withQuiesce(RuntimeException e, Quiesce q) {
        if (!q.requested() || !(e instanceof JvirtException je)) {
            return e;
        }
        Map<String, Object> details = new LinkedHashMap<>(je.details());
        details.put("quiesce", q.report());
        return new JvirtException(je.code(), je.getMessage(), details, je);
    }

    private void intend(VmJobContext ctx, SnapshotIntent intent) {
        ctx.recordStep(intent.op() + ":intent");
        store.put(ctx.vmName(), INTENT, intent);
        Fault.point("after-intent");
    }

    private Snapshot createInternalLive(VmJobContext ctx, Snapshot snap) {
        QmpClient qmp = ctx.requireQmp("snapshot");
        BlockTops tops = BlockTops.query(qmp);
        ArrayNode actions = JsonNodeFactory.instance.arrayNode();
        for (Snapshot.DiskSnapshot d : snap.disks()) {
            actions.addObject().put("type", "blockdev-snapshot-internal-sync").putObject("data")
                    .put("device", requireTop(tops, d.disk()).node()).put("name", snap.name());
        }
        transaction(qmp, actions, snap.name());
        return snap;
    }

    private Snapshot createInternalOffline(Snapshot snap) {
        List<Snapshot.DiskSnapshot> done = new ArrayList<>();
        try {
            for (Snapshot.DiskSnapshot d : snap.disks()) {
                qemuImg.snapshot("-c", Path.of(d.image()), snap.name());
                done.add(d);
            }
        } catch (QemuImgException e) {
            for (Snapshot.DiskSnapshot d : done) { // all or none
                qemuImg.snapshot("-d", Path.of(d.image()), snap.name());
            }
            throw new JvirtException(ErrorCode.QEMU_FAILED, "snapshot '" + snap.name() + "' failed: " + e.getMessage(),
                    Map.of("snapshot", snap.name()), e);
        }
        return snap;
    }

    private Snapshot createMemory(VmJobContext ctx, Snapshot snap) {
        QmpClient qmp = ctx.requireQmp("snapshot");
        BlockTops tops = BlockTops.query(qmp);
        ObjectNode args = QmpClient.args("job-id", "snap-save-" + snap.name(), "tag", snap.name(),
                "vmstate", requireTop(tops, snap.disks().get(0).disk()).node());
        ArrayNode devices = args.putArray("devices");
        snap.disks().forEach(d -> devices.add(requireTop(tops, d.disk()).node()));
        QemuJobs.Result r = QemuJobs.run(qmp, "snapshot-save", args, JOB_TIMEOUT);
        return new Snapshot(snap.name(), snap.parent(), snap.createdAt(), snap.kind(), true, snap.vmState(), snap.disks(),
                r.pauseMillis());
    }

    /**
     * As libvirt does: the guest is paused (STOP), the disks switch to overlays in one transaction, RAM and device
     * state go to the memory file through a migration, and the guest continues (RESUME). Disks and memory are of
     * the same instant because the guest does not run in between. The memory file is written as {@code .part} and
     * renamed when complete, so a file with the final name is always a whole stream.
     */
    private Snapshot createExternalMemory(VmJobContext ctx, Snapshot snap, List<SnapshotIntent.DiskChange> changes) {
        QmpClient qmp = ctx.requireQmp("snapshot");
        // the events are handed to listeners on the monitor's event thread, possibly after the command's answer
        java.util.concurrent.CompletableFuture<Instant> stopped = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Instant> resumed = new java.util.concurrent.CompletableFuture<>();
        Long pause = null;
        try (AutoCloseable stop = qmp.onEvent("STOP", e -> stopped.complete(e.timestamp()));
             AutoCloseable resume = qmp.onEvent("RESUME", e -> resumed.complete(e.timestamp()))) {
            boolean wasRunning = qmp.execute("query-status").path("running").asBoolean();
            if (wasRunning) {
                qmp.execute("stop");
            }
            try {
                // if the definition cannot follow the switch, the snapshot is kept disk-only by the hold's retry
                createExternal(ctx, snap, diskOnly(snap), changes, true, () -> { });
                saveMemory(ctx, qmp, Path.of(snap.memoryFile()));
            } finally {
                if (wasRunning && !ctx.isHeld()) {
                    qmp.execute("cont"); // after a completed migration this also takes the images back (reactivates them)
                }
            }
            if (wasRunning) {
                pause = Duration.between(stopped.get(10, java.util.concurrent.TimeUnit.SECONDS),
                        resumed.get(10, java.util.concurrent.TimeUnit.SECONDS)).toMillis();
            }
        } catch (JvirtException e) {
            throw e;
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "external memory snapshot '" + snap.name() + "' failed: " + e,
                    Map.of("snapshot", snap.name()), e);
        }
        return new Snapshot(snap.name(), snap.parent(), snap.createdAt(), snap.kind(), true, snap.vmState(), snap.disks(),
                pause, snap.memoryFile());
    }

    private void saveMemory(VmJobContext ctx, QmpClient qmp, Path mem) {
        Path part = Path.of(mem + ".part");
        MigrationFile.save(qmp, vms.paths(ctx.vmName()).runDir().resolve("mem-save.sock"), part, JOB_TIMEOUT);
        Fault.point("after-memory");
        try {
            Files.move(part, mem, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            try (java.nio.channels.FileChannel dir = java.nio.channels.FileChannel.open(mem.getParent())) {
                dir.force(true); // the rename is what says "complete"; make it durable
            }
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "cannot store the memory file " + mem + ": " + e.getMessage());
        }
    }

    /**
     * The memory part of an external memory snapshot failed. If QEMU switched the disks, the overlays hold the
     * guest's writes from now on and are kept: the snapshot is recorded disk-only and the error says so. If not,
     * nothing changed.
     */
    private void failExternalMemory(VmJobContext ctx, Snapshot snap, List<SnapshotIntent.DiskChange> changes, RuntimeException e) {
        deleteAll(List.of(Path.of(snap.memoryFile() + ".part")));
        Snapshot diskOnly = new Snapshot(snap.name(), snap.parent(), snap.createdAt(), snap.kind(), false, snap.vmState(),
                snap.disks(), null, null);
        boolean kept = recoverExternalCreate(ctx, new SnapshotIntent("create-external", diskOnly, true, changes));
        store.remove(ctx.vmName(), INTENT);
        if (kept) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "the memory of snapshot '" + snap.name() + "' could not be saved ("
                    + e.getMessage() + "); the disks had already switched, so '" + snap.name() + "' was kept as a disk-only external snapshot",
                    Map.of("snapshot", snap.name(), "recordedAs", "disk-only"), e);
        }
        throw e;
    }

    private static Snapshot diskOnly(Snapshot s) {
        return new Snapshot(s.name(), s.parent(), s.createdAt(), s.kind(), false, s.vmState(), s.disks(), null, null);
    }

    private static boolean isDefinitionNotWritten(RuntimeException e) {
        return e instanceof JvirtException j && j.code() == ErrorCode.DEFINITION_NOT_WRITTEN;
    }

    /**
     * {@code onRetry} is what is recorded if the definition cannot follow QEMU's switch at once and a later retry
     * finishes the snapshot; {@code beforeHold} runs before the guest is paused for that (a thaw: a paused guest
     * cannot thaw its filesystems).
     */
    private Snapshot createExternal(VmJobContext ctx, Snapshot snap, Snapshot onRetry, List<SnapshotIntent.DiskChange> changes,
                                    boolean running, Runnable beforeHold) {
        List<Path> created = new ArrayList<>();
        try {
            for (SnapshotIntent.DiskChange c : changes) {
                Path overlay = Path.of(c.newPath());
                if (Files.exists(overlay, java.nio.file.LinkOption.NOFOLLOW_LINKS)) { // never write through a planted link
                    throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the overlay for disk '" + c.disk()
                            + "' already exists: " + overlay, Map.of("disk", c.disk(), "path", overlay.toString()));
                }
                qemuImg.create(overlay, "qcow2", null, Path.of(c.oldPath()), c.oldFormat());
                created.add(overlay);
            }
        } catch (QemuImgException e) {
            deleteAll(created);
            throw new JvirtException(ErrorCode.QEMU_FAILED, "cannot create the overlay images: " + e.getMessage(),
                    Map.of("snapshot", snap.name()), e);
        } catch (RuntimeException e) {
            deleteAll(created);
            throw e;
        }
        if (running) {
            switchLive(ctx, snap.name(), changes, created);
        }
        ctx.recordStep("create-external:switched");
        Fault.point("after-switch");
        if (!running) {
            try {
                ctx.switchDisks(images(changes, true));
            } catch (RuntimeException e) {
                // no QEMU runs on the overlays: nothing was written to them, so the snapshot is simply not taken
                deleteAll(created);
                forgetIntent(ctx.vmName());
                throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, "snapshot '" + snap.name()
                        + "' not taken: " + e.getMessage() + "; nothing changed", Map.of("snapshot", snap.name()), e);
            }
        } else {
            switchedTo(ctx, "snapshot '" + snap.name() + "'", "create-external", images(changes, true), beforeHold,
                    retry -> recordCreated(retry.vmName(), onRetry));
        }
        Fault.point("after-definition");
        return snap;
    }

    private void recordCreated(String vm, Snapshot snap) {
        store.put(vm, TREE, tree(vm).with(snap));
        store.remove(vm, INTENT);
    }

    private void forgetIntent(String vm) {
        try {
            store.remove(vm, INTENT);
        } catch (RuntimeException e) {
            log.warn("VM {}: cannot remove the snapshot intent: {}", vm, e.toString());
        }
    }

    /**
     * QEMU now runs these disks on {@code images}: the definition names them durably before the guest may go on.
     * If that write fails, the guest is held paused (resume and start refused) until a retry writes it and then
     * {@code finish}es the job's own records: a resume or start of the VM retries, as does a restarted daemon
     * (the job's step record is kept, ending in ":held").
     */
    private void switchedTo(VmJobContext ctx, String what, String op, Map<String, DiskImage> images, Runnable beforeHold,
                            java.util.function.Consumer<VmJobContext> finish) {
        try {
            ctx.switchDisks(images);
        } catch (RuntimeException e) {
            String reason = what + ": QEMU runs VM '" + ctx.vmName() + "' on " + describe(images)
                    + ", but the VM's definition could not be written (" + e.getMessage() + "); the guest is paused"
                    + " until it can be: `jvirt resume " + ctx.vmName() + "` retries, as does a restart of jvirtd";
            beforeHold.run();
            try {
                ctx.recordStep(op + ":held");
            } catch (RuntimeException ignored) {
                // the same disk may refuse this too; the intent document is what recovery goes by
            }
            ctx.holdGuest(reason, retry -> {
                retry.switchDisks(images);
                finish.accept(retry);
            });
            throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, reason, Map.of("vm", ctx.vmName(), "held", true), e);
        }
    }

    private static String describe(Map<String, DiskImage> images) {
        List<String> parts = new ArrayList<>();
        images.forEach((disk, to) -> parts.add("disk " + disk + " on " + to.path()));
        return String.join(", ", parts);
    }

    private static Map<String, DiskImage> images(List<SnapshotIntent.DiskChange> changes, boolean toNew) {
        Map<String, DiskImage> to = new LinkedHashMap<>();
        for (SnapshotIntent.DiskChange c : changes) {
            to.put(c.disk(), toNew ? new DiskImage(c.newPath(), "qcow2") : new DiskImage(c.oldPath(), c.oldFormat()));
        }
        return to;
    }

    /** blockdev-add each overlay (without backing), then one transaction of blockdev-snapshot: all disks or none. */
    private void switchLive(VmJobContext ctx, String name, List<SnapshotIntent.DiskChange> changes, List<Path> created) {
        QmpClient qmp = ctx.requireQmp("snapshot");
        BlockTops tops = BlockTops.query(qmp);
        List<String> added = new ArrayList<>();
        try {
            ArrayNode actions = JsonNodeFactory.instance.arrayNode();
            for (SnapshotIntent.DiskChange c : changes) {
                ObjectNode file = QmpClient.args("driver", "file", "filename", c.newPath(), "node-name", c.fileNode());
                qmp.execute("blockdev-add", file);
                added.add(c.fileNode());
                ObjectNode fmt = QmpClient.args("driver", "qcow2", "file", c.fileNode(), "node-name", c.formatNode());
                fmt.putNull("backing");
                qmp.execute("blockdev-add", fmt);
                added.add(0, c.formatNode());
                actions.addObject().put("type", "blockdev-snapshot").putObject("data")
                        .put("node", requireTop(tops, c.disk()).node()).put("overlay", c.formatNode());
            }
            Fault.point("before-transaction");
            transaction(qmp, actions, name);
        } catch (RuntimeException e) {
            for (String node : added) {
                try {
                    qmp.execute("blockdev-del", QmpClient.args("node-name", node));
                } catch (QmpException ignored) {
                    // gone already
                }
            }
            deleteAll(created);
            throw e instanceof JvirtException ? e : new JvirtException(ErrorCode.QEMU_FAILED,
                    "external snapshot '" + name + "' failed: " + e.getMessage(), Map.of("snapshot", name), e);
        }
    }

    private static void transaction(QmpClient qmp, ArrayNode actions, String name) {
        ObjectNode args = JsonNodeFactory.instance.objectNode();
        args.set("actions", actions);
        try {
            qmp.execute("transaction", args);
        } catch (QmpException e) {
            String msg = e.getMessage();
            ErrorCode code = msg != null && msg.contains("already exists") ? ErrorCode.SNAPSHOT_EXISTS : ErrorCode.QEMU_FAILED;
            throw new JvirtException(code, "snapshot '" + name + "' failed (no disk changed): " + msg,
                    Map.of("snapshot", name), e);
        }
    }

    private static BlockTops.Top requireTop(BlockTops tops, String disk) {
        BlockTops.Top t = tops.top(disk);
        if (t == null) {
            throw new JvirtException(ErrorCode.DISK_NOT_FOUND, "QEMU has no disk '" + disk + "'", Map.of("disk", disk));
        }
        return t;
    }

    private static void deleteAll(List<Path> files) {
        for (Path p : files) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // left behind; harmless, not referenced
            }
        }
    }

    // ---- revert --------------------------------------------------------------------------------------------

    public PendingJob<Snapshot> prepareRevert(String vm, String name, String operationId, Duration queue) {
        return vms.prepareJob(vm, "snapshot-revert", operationId, queue,
                ctx -> checkRevertable(ctx, info(vm, name)),
                ctx -> {
                    Snapshot s = info(vm, name);
                    boolean running = ctx.qemu().isPresent();
                    String op = s.memory() ? (s.external() ? "revert-external-memory" : "revert-memory") : "revert-" + s.kind();
                    List<SnapshotIntent.DiskChange> changes = s.external() ? revertChanges(ctx, s) : List.of();
                    intend(ctx, new SnapshotIntent(op, s, running, changes));
                    revert(ctx, s, op, running, changes);
                    store.put(vm, TREE, tree(vm).withCurrent(name));
                    store.remove(vm, INTENT);
                    return s;
                });
    }

    private void checkRevertable(VmJobContext ctx, Snapshot s) {
        if (s.external()) {
            return; // a new overlay goes on the frozen images; the current top is discarded
        }
        for (Snapshot.DiskSnapshot d : s.disks()) {
            VmDefinition.Disk now = disk(ctx, d.disk());
            if (!now.path().equals(d.image())) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "disk '" + d.disk() + "' now runs on " + now.path()
                        + " (an external snapshot was taken after '" + s.name() + "'); revert to that external snapshot's parent chain first",
                        Map.of("disk", d.disk(), "snapshot", s.name()));
            }
        }
    }

    private static VmDefinition.Disk disk(VmJobContext ctx, String name) {
        return ctx.definition().disks().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() ->
                new JvirtException(ErrorCode.DISK_NOT_FOUND, "VM '" + ctx.vmName() + "' no longer has disk '" + name + "'",
                        Map.of("disk", name)));
    }

    private List<SnapshotIntent.DiskChange> revertChanges(VmJobContext ctx, Snapshot s) {
        String tag = Long.toHexString(System.currentTimeMillis());
        List<SnapshotIntent.DiskChange> changes = new ArrayList<>();
        for (Snapshot.DiskSnapshot d : s.disks()) {
            VmDefinition.Disk now = disk(ctx, d.disk());
            Path top = Path.of(d.image()).toAbsolutePath().getParent()
                    .resolve(ctx.vmName() + "-" + d.disk() + "-" + s.name() + "-r" + tag + ".qcow2");
            changes.add(new SnapshotIntent.DiskChange(d.disk(), now.path(), now.format(), top.toString(), null, null));
        }
        return changes;
    }

    /** Idempotent: recovery runs it again after a crash at any step. */
    private void revert(VmJobContext ctx, Snapshot s, String op, boolean wasRunning, List<SnapshotIntent.DiskChange> changes) {
        switch (op) {
            case "revert-memory" -> {
                if (ctx.qemu().isEmpty()) {
                    ctx.startQemu(); // boots from the disks; snapshot-load then replaces disks, RAM and devices
                    ctx.recordStep(op + ":started");
                }
                QmpClient qmp = ctx.requireQmp("revert");
                BlockTops tops = BlockTops.query(qmp);
                ObjectNode args = QmpClient.args("job-id", "snap-load-" + s.name(), "tag", s.name(),
                        "vmstate", requireTop(tops, s.disks().get(0).disk()).node());
                ArrayNode devices = args.putArray("devices");
                s.disks().forEach(d -> devices.add(requireTop(tops, d.disk()).node()));
                QemuJobs.run(qmp, "snapshot-load", args, JOB_TIMEOUT);
            }
            case "revert-internal" -> {
                ctx.stopQemu(); // QEMU cannot load a disk-only internal snapshot into a running VM
                ctx.recordStep(op + ":stopped");
                for (Snapshot.DiskSnapshot d : s.disks()) {
                    try {
                        qemuImg.snapshot("-a", Path.of(d.image()), s.name());
                    } catch (QemuImgException e) {
                        throw new JvirtException(ErrorCode.QEMU_FAILED, "revert of disk '" + d.disk() + "' failed: "
                                + e.getMessage(), Map.of("disk", d.disk()), e);
                    }
                }
                ctx.recordStep(op + ":applied");
                if (wasRunning) {
                    ctx.startQemu();
                }
            }
            case "revert-external-memory" -> {
                // QEMU stops; fresh overlays on the frozen images; a new QEMU loads RAM and devices, then runs
                ctx.stopQemu();
                ctx.recordStep(op + ":stopped");
                newTops(ctx, s, changes);
                ctx.recordStep(op + ":applied");
                removeDiscardedTops(ctx.vmName(), changes);
                Path mem = Path.of(s.memoryFile());
                ctx.startQemuIncoming(qmp -> MigrationFile.load(qmp, vms.paths(ctx.vmName()).runDir().resolve("mem-load.sock"),
                        mem, JOB_TIMEOUT));
            }
            default -> { // revert-external: a fresh overlay on each frozen image becomes the disk's top
                ctx.stopQemu();
                ctx.recordStep(op + ":stopped");
                newTops(ctx, s, changes);
                ctx.recordStep(op + ":applied");
                removeDiscardedTops(ctx.vmName(), changes);
                if (wasRunning) {
                    ctx.startQemu();
                }
            }
        }
    }

    /** A fresh overlay on each frozen image, then the definition names them (skipped if it already does). */
    private void newTops(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        boolean adopted = changes.stream().allMatch(c -> disk(ctx, c.disk()).path().equals(c.newPath()));
        if (adopted) {
            return;
        }
        for (int i = 0; i < changes.size(); i++) {
            Path top = Path.of(changes.get(i).newPath());
            Snapshot.DiskSnapshot d = s.disks().get(i);
            try {
                Files.deleteIfExists(top); // a partial one of ours from before a crash
            } catch (IOException e) {
                throw new JvirtException(ErrorCode.INTERNAL, "cannot remove " + top + ": " + e.getMessage());
            }
            qemuImg.create(top, "qcow2", null, Path.of(d.image()), d.format());
        }
        try {
            ctx.switchDisks(images(changes, true)); // QEMU is stopped: nothing runs on the new tops yet
        } catch (RuntimeException e) {
            deleteAll(changes.stream().map(c -> Path.of(c.newPath())).toList());
            forgetIntent(ctx.vmName());
            throw new JvirtException(ErrorCode.DEFINITION_NOT_WRITTEN, "revert to '" + s.name() + "' not applied: "
                    + e.getMessage() + "; VM '" + ctx.vmName() + "' is shut off on its current disks",
                    Map.of("snapshot", s.name()), e);
        }
    }

    /**
     * The tops an external revert replaced hold only what the revert discards. A file is removed only if jvirt
     * made it (named {@code <vm>-<disk>-...qcow2}) and no snapshot names it as its image.
     */
    private void removeDiscardedTops(String vm, List<SnapshotIntent.DiskChange> changes) {
        SnapshotTree tree = tree(vm);
        for (SnapshotIntent.DiskChange c : changes) {
            Path old = Path.of(c.oldPath());
            boolean ours = old.getFileName().toString().startsWith(vm + "-" + c.disk() + "-")
                    && old.getFileName().toString().endsWith(".qcow2");
            boolean needed = tree.snapshots().stream().flatMap(x -> x.disks().stream())
                    .anyMatch(d -> Path.of(d.image()).equals(old));
            if (ours && !needed && !c.oldPath().equals(c.newPath())) {
                deleteAll(List.of(old));
            }
        }
    }

    // ---- delete --------------------------------------------------------------------------------------------

    public PendingJob<Snapshot> prepareDelete(String vm, String name, String operationId, Duration queue) {
        List<List<SnapshotIntent.DiskChange>> plan = new ArrayList<>(List.of(List.of()));
        return vms.prepareJob(vm, "snapshot-delete", operationId, queue,
                ctx -> {
                    Snapshot s = info(vm, name);
                    if (s.external()) {
                        plan.set(0, planExternalDelete(ctx, s));
                    }
                },
                ctx -> {
                    Snapshot s = info(vm, name);
                    intend(ctx, new SnapshotIntent("delete-" + s.kind(), s, ctx.qemu().isPresent(), plan.get(0)));
                    delete(ctx, s, plan.get(0));
                    store.remove(vm, INTENT);
                    return s;
                });
    }

    /**
     * What deleting an external snapshot merges, per disk: the one image that is backed by the snapshot's frozen
     * image (its overlay, or a top made by a revert) is committed into the frozen image, everything that was backed
     * by the merged image is then backed by the frozen image (it reads the same), and the merged file goes. As a
     * {@link SnapshotIntent.DiskChange}: {@code oldPath} the merged-away image (null when nothing is backed by the
     * frozen image any more: then there is nothing to merge), {@code newPath} the frozen image it goes into.
     * Refused (nothing changes) when two images are backed by the frozen image: each would need its own copy of it.
     */
    private List<SnapshotIntent.DiskChange> planExternalDelete(VmJobContext ctx, Snapshot s) {
        Map<Path, Path> backings = knownBackings(ctx, tree(ctx.vmName()), s.disks().stream().map(Snapshot.DiskSnapshot::disk).toList(), null);
        List<SnapshotIntent.DiskChange> changes = new ArrayList<>();
        for (Snapshot.DiskSnapshot d : s.disks()) {
            Path image = abs(d.image());
            List<Path> above = backings.entrySet().stream().filter(e -> image.equals(e.getValue())).map(Map.Entry::getKey).toList();
            if (above.size() > 1) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "cannot delete snapshot '" + s.name() + "': its image " + image
                        + " of disk '" + d.disk() + "' is the backing file of " + above.size() + " images " + above
                        + " (a revert made a second branch); merging it into one would change what the other reads",
                        Map.of("snapshot", s.name(), "disk", d.disk(), "image", image.toString()));
            }
            if (above.isEmpty()) {
                changes.add(new SnapshotIntent.DiskChange(d.disk(), null, null, image.toString(), null, null));
                continue;
            }
            Path merged = above.get(0);
            JsonNode info = qemuImg.info(merged, "qcow2");
            if (info.path("snapshots").size() > 0) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "cannot delete snapshot '" + s.name() + "': " + merged
                        + " would be merged away but holds internal snapshots; delete those first",
                        Map.of("snapshot", s.name(), "disk", d.disk(), "image", merged.toString()));
            }
            changes.add(new SnapshotIntent.DiskChange(d.disk(), merged.toString(), "qcow2", image.toString(), null, null));
        }
        return changes;
    }

    private static Path abs(String p) {
        return Path.of(p).toAbsolutePath().normalize();
    }

    /**
     * Every image of these disks jvirt knows (the definition's tops, every snapshot's frozen image and overlay)
     * that exists, mapped to its backing file (absolute; null for none). {@code skip} is left out.
     */
    private Map<Path, Path> knownBackings(VmJobContext ctx, SnapshotTree tree, List<String> disks, Path skip) {
        Map<Path, String> formats = new LinkedHashMap<>();
        for (VmDefinition.Disk d : ctx.definition().disks()) {
            if (disks.contains(d.name())) {
                formats.put(abs(d.path()), d.format());
            }
        }
        for (Snapshot x : tree.snapshots()) {
            for (Snapshot.DiskSnapshot d : x.disks()) {
                if (disks.contains(d.disk())) {
                    formats.putIfAbsent(abs(d.image()), d.format());
                    if (d.overlay() != null) {
                        formats.putIfAbsent(abs(d.overlay()), "qcow2");
                    }
                }
            }
        }
        Map<Path, Path> backings = new LinkedHashMap<>();
        formats.forEach((file, format) -> {
            if (!file.equals(skip) && Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                JsonNode info = qemuImg.info(file, format);
                String b = info.path("full-backing-filename").asText(info.path("backing-filename").asText(""));
                backings.put(file, b.isEmpty() ? null : file.getParent().resolve(b).normalize());
            }
        });
        return backings;
    }

    /** Idempotent: recovery runs it again after a crash at any step. Ends with the snapshot out of the tree. */
    private void delete(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        if (s.external()) {
            deleteExternal(ctx, s, changes);
            return;
        }
        Optional<QmpClient> qmp = ctx.qemu().map(q -> q.qmp());
        for (Snapshot.DiskSnapshot d : s.disks()) {
            if (qmp.isPresent()) {
                BlockTops.Top top = BlockTops.query(qmp.get()).top(d.disk());
                if (top != null && top.snapshots().contains(s.name())) {
                    qmp.get().execute("blockdev-snapshot-delete-internal-sync",
                            QmpClient.args("device", top.node(), "name", s.name()), Duration.ofMinutes(10));
                }
            } else if (hasInternal(Path.of(d.image()), s.name())) {
                qemuImg.snapshot("-d", Path.of(d.image()), s.name());
            }
        }
        if (tree(ctx.vmName()).find(s.name()).isPresent()) {
            store.put(ctx.vmName(), TREE, tree(ctx.vmName()).without(s.name()));
        }
    }

    /**
     * Merge, then the records, then the files: each disk's merged image is committed into the snapshot's frozen
     * image (by QEMU if it runs that chain, else qemu-img), images that were backed by it are rebased (unsafe:
     * they read the same), QEMU's chain is checked, then definition and tree name the frozen image, and only then is
     * the merged file removed. Every step is skipped when a previous run (before a crash) already did it.
     */
    private void deleteExternal(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        String vm = ctx.vmName();
        Optional<QmpClient> qmp = ctx.qemu().map(q -> q.qmp());
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() == null || !Files.exists(Path.of(c.oldPath()))) {
                continue; // nothing to merge, or merged and removed before a crash
            }
            Path from = abs(c.oldPath());
            Path into = abs(c.newPath());
            String intoFormat = diskOf(s, c.disk()).format();
            List<BlockTops.Layer> chain = List.of();
            if (qmp.isPresent()) {
                QemuJobs.settle(qmp.get(), "commit-" + c.disk(), JOB_TIMEOUT); // one a daemon that died left running
                chain = BlockTops.chain(qmp.get(), c.disk());
                int at = indexOf(chain, from);
                if (at >= 0) {
                    commitLive(qmp.get(), c.disk(), chain, at, into);
                    chain = BlockTops.chain(qmp.get(), c.disk());
                    if (indexOf(chain, from) >= 0 || indexOf(chain, into) != at) {
                        throw new JvirtException(ErrorCode.QEMU_FAILED, "after the commit QEMU still does not run disk '"
                                + c.disk() + "' on " + into + " in place of " + from + ": " + chain,
                                Map.of("disk", c.disk(), "snapshot", s.name()));
                    }
                }
            }
            boolean qemuMerged = indexOf(chain, into) >= 0; // QEMU runs on the frozen image without `from`
            Map<Path, Path> backings = knownBackings(ctx, tree(vm), List.of(c.disk()), from);
            List<Path> above = backings.entrySet().stream().filter(e -> from.equals(e.getValue())).map(Map.Entry::getKey).toList();
            boolean definedOnFrom = abs(disk(ctx, c.disk()).path()).equals(from);
            if (!qemuMerged && (definedOnFrom || !above.isEmpty())) {
                // no QEMU has `from` open; a repeat after a crash commits the same data again
                qemuImg.run(List.of("commit", "-q", "-d", "-f", "qcow2", from.toString()));
            }
            for (Path f : above) {
                if (indexOf(chain, f) < 0) { // QEMU rewrote the backing of the image above in its chain itself
                    qemuImg.run(List.of("rebase", "-q", "-u", "-f", "qcow2", "-b", into.toString(), "-F", intoFormat, f.toString()));
                }
            }
        }
        Fault.point("after-merge");
        ctx.recordStep("delete-external:merged");
        Map<String, DiskImage> to = new LinkedHashMap<>();
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() != null && abs(disk(ctx, c.disk()).path()).equals(abs(c.oldPath()))) {
                to.put(c.disk(), new DiskImage(c.newPath(), diskOf(s, c.disk()).format()));
            }
        }
        if (!to.isEmpty()) {
            switchedTo(ctx, "deleting snapshot '" + s.name() + "'", "delete-external", to, () -> { }, retry -> {
                finishExternalDelete(retry, s, changes);
                store.remove(retry.vmName(), INTENT);
            });
        }
        finishExternalDelete(ctx, s, changes);
    }

    /** After the merge and the definition: the tree names the frozen images, then the merged files go. */
    private void finishExternalDelete(VmJobContext ctx, Snapshot s, List<SnapshotIntent.DiskChange> changes) {
        String vm = ctx.vmName();
        SnapshotTree tree = tree(vm);
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() != null) {
                tree = tree.withImageMoved(c.disk(), c.oldPath(), c.newPath(), diskOf(s, c.disk()).format());
            }
        }
        if (tree.find(s.name()).isPresent()) {
            tree = tree.without(s.name());
        }
        store.put(vm, TREE, tree);
        if (s.memoryFile() != null) {
            deleteAll(List.of(Path.of(s.memoryFile())));
        }
        for (SnapshotIntent.DiskChange c : changes) {
            if (c.oldPath() != null) {
                deleteAll(List.of(Path.of(c.oldPath())));
            } else {
                removeIfUnneeded(ctx, tree, c.disk(), abs(c.newPath()));
            }
        }
    }

    /** block-commit of chain[at] into chain[at + 1]: an active commit (pivot on ready) for the top, else a plain one. */
    private static void commitLive(QmpClient qmp, String disk, List<BlockTops.Layer> chain, int at, Path into) {
        if (at + 1 >= chain.size() || !abs(chain.get(at + 1).file()).equals(into)) {
            throw new JvirtException(ErrorCode.INVALID_STATE, "QEMU runs disk '" + disk + "' with " + chain.get(at).file()
                    + " not directly on " + into, Map.of("disk", disk));
        }
        ObjectNode args = QmpClient.args("job-id", "commit-" + disk, "device", chain.get(0).node(),
                "base-node", chain.get(at + 1).node(), "auto-dismiss", false);
        if (at > 0) {
            // the image above `top` gets the base as its backing file, written into its header by QEMU
            args.put("top-node", chain.get(at).node()).put("backing-file", into.toString());
        }
        QemuJobs.run(qmp, "block-commit", args, JOB_TIMEOUT); // active: ready -> job-complete (pivot)
        BlockTops.release(qmp, chain.get(at).node(), chain.get(at).file()); // a node we added stays until deleted
    }

    private static int indexOf(List<BlockTops.Layer> chain, Path file) {
        for (int i = 0; i < chain.size(); i++) {
            if (abs(chain.get(i).file()).equals(file)) {
                return i;
            }
        }
        return -1;
    }

    private static Snapshot.DiskSnapshot diskOf(Snapshot s, String disk) {
        return s.disks().stream().filter(d -> d.disk().equals(disk)).findFirst().orElseThrow();
    }

    /**
     * A deleted snapshot's frozen image that nothing is backed by any more (its overlay was discarded by a revert)
     * is removed if jvirt made it and neither the definition nor another snapshot names it.
     */
    private void removeIfUnneeded(VmJobContext ctx, SnapshotTree tree, String disk, Path image) {
        String name = image.getFileName().toString();
        boolean ours = name.startsWith(ctx.vmName() + "-" + disk + "-") && name.endsWith(".qcow2");
        boolean named = abs(disk(ctx, disk).path()).equals(image) || tree.snapshots().stream()
                .flatMap(x -> x.disks().stream()).anyMatch(d -> abs(d.image()).equals(image));
        boolean backsSomething = knownBackings(ctx, tree, List.of(disk), image).containsValue(image);
        if (ours && !named && !backsSomething) {
            deleteAll(List.of(image));
        }
    }

    private boolean hasInternal(Path image, String name) {
        for (JsonNode s : qemuImg.info(image, false).path("snapshots")) {
            if (s.path("name").asText().equals(name)) {
                return true;
            }
        }
        return false;
    }

    // ---- recovery ------------------------------------------------------------------------------------------

    /** Called on daemon restart for a snapshot job that was under way: find out what happened and finish or undo. */
    void recover(VmJobContext ctx, VmRecord.JobRecord interrupted) {
        String vm = ctx.vmName();
        Optional<SnapshotIntent> found = store.get(vm, INTENT, SnapshotIntent.class);
        if (found.isEmpty()) {
            log.info("VM {}: snapshot job {} left no intent; nothing was changed", vm, interrupted.intent());
            return;
        }
        SnapshotIntent in = found.get();
        Snapshot s = in.snapshot();
        log.info("VM {}: recovering {} of snapshot '{}' (last step {})", vm, in.op(), s.name(), interrupted.intent());
        switch (in.op()) {
            case "create-internal", "create-memory" -> {
                if (in.op().equals("create-memory") && ctx.qemu().isPresent()) {
                    QemuJobs.settle(ctx.qemu().get().qmp(), "snap-save-" + s.name(), JOB_TIMEOUT); // it ran on without us
                }
                boolean all = true;
                boolean any = false;
                for (Snapshot.DiskSnapshot d : s.disks()) {
                    boolean has = ctx.qemu().isPresent()
                            ? Optional.ofNullable(BlockTops.query(ctx.qemu().get().qmp()).top(d.disk()))
                            .map(t -> t.snapshots().contains(s.name())).orElse(false)
                            : hasInternal(Path.of(d.image()), s.name());
                    all &= has;
                    any |= has;
                }
                if (all && (!in.op().equals("create-memory") || ctx.qemu().isPresent() || hasVmState(s))) {
                    store.put(vm, TREE, tree(vm).with(s));
                } else if (any) {
                    delete(ctx, s, List.of()); // some disks only: undo, all or none
                }
            }
            case "create-external" -> recoverExternalCreate(ctx, in);
            case "create-external-memory" -> recoverExternalMemoryCreate(ctx, in);
            case "revert-internal", "revert-memory", "revert-external", "revert-external-memory" -> {
                revert(ctx, s, in.op(), in.wasRunning(), in.changes());
                store.put(vm, TREE, tree(vm).withCurrent(s.name()));
            }
            case "delete-internal", "delete-external" -> delete(ctx, s, in.changes());
            default -> log.warn("VM {}: unknown snapshot intent {}", vm, in.op());
        }
        store.remove(vm, INTENT);
        if (interrupted.intent() != null && interrupted.intent().endsWith(":held")) {
            resumeHeldGuest(ctx); // the previous daemon paused it only because the definition could not follow
        }
    }

    private static void resumeHeldGuest(VmJobContext ctx) {
        ctx.qemu().ifPresent(q -> {
            if (!q.qmp().execute("query-status").path("running").asBoolean()) {
                q.qmp().execute("cont");
                log.info("VM {}: the held guest runs again: its definition names its disks now", ctx.vmName());
            }
        });
    }

    private boolean hasVmState(Snapshot s) {
        Path image = Path.of(s.disks().get(0).image());
        for (JsonNode x : qemuImg.info(image, false).path("snapshots")) {
            if (x.path("name").asText().equals(s.name())) {
                return x.path("vm-state-size").asLong() > 0;
            }
        }
        return false;
    }

    /**
     * If QEMU runs: its top node decides (switched: adopt; not: undo). If QEMU is gone: adopt the overlays when
     * they are all intact, since an overlay nobody wrote to reads exactly like its backing file, and one QEMU did
     * write to holds acknowledged writes that must not be lost.
     */
    private boolean recoverExternalCreate(VmJobContext ctx, SnapshotIntent in) {
        String vm = ctx.vmName();
        List<SnapshotIntent.DiskChange> changes = in.changes();
        boolean adopt;
        if (ctx.qemu().isPresent()) {
            QmpClient qmp = ctx.qemu().get().qmp();
            BlockTops tops = BlockTops.query(qmp);
            adopt = changes.stream().allMatch(c -> tops.top(c.disk()) != null
                    && Path.of(tops.top(c.disk()).file()).equals(Path.of(c.newPath())));
            if (!adopt) {
                List<String> nodes = BlockTops.nodeNames(qmp);
                for (SnapshotIntent.DiskChange c : changes) {
                    for (String n : List.of(c.formatNode(), c.fileNode())) {
                        if (nodes.contains(n)) {
                            qmp.execute("blockdev-del", QmpClient.args("node-name", n));
                        }
                    }
                }
            }
        } else {
            adopt = changes.stream().allMatch(c -> intactOverlay(c));
        }
        if (adopt) {
            if (!changes.stream().allMatch(c -> disk(ctx, c.disk()).path().equals(c.newPath()))) {
                switchedTo(ctx, "snapshot '" + in.snapshot().name() + "'", "create-external", images(changes, true),
                        () -> { }, retry -> recordCreated(retry.vmName(), in.snapshot()));
            }
            store.put(vm, TREE, tree(vm).with(in.snapshot()));
            log.info("VM {}: external snapshot '{}' completed on recovery", vm, in.snapshot().name());
        } else {
            // only files that are provably ours (an overlay on the old image); anything else at that path is not
            deleteAll(changes.stream().filter(this::intactOverlay).map(c -> Path.of(c.newPath())).toList());
            log.info("VM {}: external snapshot '{}' undone on recovery", vm, in.snapshot().name());
        }
        return adopt;
    }

    /**
     * External memory snapshot cut short. QEMU alive and on the overlays: the guest has been paused since before
     * the switch (only a completed save resumes it), so its state is still the snapshot's: the memory is saved
     * again unless a complete file is there, then the guest continues. QEMU alive, not switched: undone, guest
     * continues. QEMU gone: the overlays are kept if intact (as for disk-only), with memory only if the file is
     * complete.
     */
    private void recoverExternalMemoryCreate(VmJobContext ctx, SnapshotIntent in) {
        Snapshot s = in.snapshot();
        Path mem = Path.of(s.memoryFile());
        deleteAll(List.of(Path.of(mem + ".part")));
        Optional<QmpClient> qmp = ctx.qemu().map(q -> q.qmp());
        Snapshot diskOnly = new Snapshot(s.name(), s.parent(), s.createdAt(), s.kind(), false, s.vmState(), s.disks(), null, null);
        boolean adopted;
        if (qmp.isPresent()) {
            BlockTops tops = BlockTops.query(qmp.get());
            boolean switched = in.changes().stream().allMatch(c -> tops.top(c.disk()) != null
                    && Path.of(tops.top(c.disk()).file()).equals(Path.of(c.newPath())));
            boolean paused = !qmp.get().execute("query-status").path("running").asBoolean();
            Snapshot record = diskOnly;
            if (switched && paused) {
                if (!Files.exists(mem)) {
                    settleMigration(qmp.get());
                    saveMemory(ctx, qmp.get(), mem);
                }
                record = s;
            }
            adopted = recoverExternalCreate(ctx, new SnapshotIntent("create-external", record, true, in.changes()));
            if (paused && in.wasRunning()) {
                qmp.get().execute("cont");
            }
        } else {
            adopted = recoverExternalCreate(ctx, new SnapshotIntent("create-external", Files.exists(mem) ? s : diskOnly, false,
                    in.changes()));
        }
        if (!adopted) {
            deleteAll(List.of(mem));
        }
    }

    /** A migration the dead daemon started fails once its socket is gone; wait for that (by event) before a new one. */
    private static void settleMigration(QmpClient qmp) {
        java.util.concurrent.CompletableFuture<Void> end = new java.util.concurrent.CompletableFuture<>();
        try (AutoCloseable ev = qmp.onEvent("MIGRATION", e -> {
            if (List.of("completed", "failed", "cancelled").contains(e.data().path("status").asText())) {
                end.complete(null);
            }
        })) {
            String status = qmp.execute("query-migrate").path("status").asText("none"); // after subscribing: no event missed
            if (List.of("setup", "active", "device", "pre-switchover", "cancelling").contains(status)) {
                qmp.execute("migrate_cancel");
                end.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (JvirtException e) {
            throw e;
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, "the interrupted memory save did not end: " + e);
        }
    }

    private boolean intactOverlay(SnapshotIntent.DiskChange c) {
        if (!Files.exists(Path.of(c.newPath()))) {
            return false;
        }
        try {
            JsonNode info = qemuImg.info(Path.of(c.newPath()), false);
            String backing = info.path("full-backing-filename").asText(info.path("backing-filename").asText(""));
            return Path.of(backing).toAbsolutePath().equals(Path.of(c.oldPath()).toAbsolutePath());
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static JvirtException notFound(String vm, String name) {
        return new JvirtException(ErrorCode.SNAPSHOT_NOT_FOUND, "VM '" + vm + "' has no snapshot '" + name + "'",
                Map.of("vm", vm, "snapshot", name));
    }
}
