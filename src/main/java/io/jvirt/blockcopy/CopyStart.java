package io.jvirt.blockcopy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.Fault;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Blockdev;
import io.jvirt.qemu.monitor.Feature;
import io.jvirt.qemu.monitor.ImageInfo;
import io.jvirt.qemu.monitor.MirrorOptions;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.storage.QemuImg;
import io.jvirt.vm.VmDefinition;
import io.jvirt.vm.VmJobContext;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starting a copy, within the VM's job: every check before anything changes, then the durable record (intent
 * first), the destination image and its node, and QEMU's mirror. A failure before the mirror exists undoes all.
 */
record CopyStart(VmManager vms, Copies copies, QemuImg qemuImg, DestinationCheck destinations, CopyWatch watch) {
    private static final Logger log = LoggerFactory.getLogger(CopyStart.class);
    private static final long MIB = 1024L * 1024;

    /**
     * Checks everything, creates the destination and starts QEMU's mirror, holding the VM's slot for that long
     * only; then the copy's own thread follows it. Bad input throws here, before anything changed.
     */
    ActiveCopy start(String vm, String disk, CopyRequest req) {
        ActiveCopy c = vms.runJob(vm, CopyJob.START, Duration.ZERO, ctx -> begin(ctx, disk, req));
        watch.start(c);
        return c;
    }

    private ActiveCopy begin(VmJobContext ctx, String disk, CopyRequest req) {
        String vm = ctx.vmName();
        VmDefinition.Disk d = ctx.definition().requireDisk(disk);
        if (req == null || req.dest() == null || req.dest().isBlank()) {
            throw bad("a destination path is needed");
        }
        if (req.wantsPivot() && req.wantsFinish()) {
            throw bad("--pivot and --finish exclude each other");
        }
        copies.get(vm, disk).ifPresent(running -> {
            throw new JvirtException(ErrorCode.VM_BUSY, "disk " + disk + " of VM '" + vm + "' is already being copied to "
                    + running.record().dest() + " (since " + running.record().since() + ")",
                    Map.of("vm", vm, "disk", disk, "job", CopyJob.OPERATION));
        });
        Monitor monitor = ctx.monitor().orElseThrow(() -> new JvirtException(ErrorCode.INVALID_STATE,
                "cannot copy disk " + disk + " of VM '" + vm + "': it is " + ctx.state().wire() + " (it must be running)",
                Map.of("vm", vm, "state", ctx.state().wire())));
        BlockGraph.Top top = BlockGraph.query(monitor).require(disk);
        ImageInfo image = top.image() != null ? top.image()
                : new ImageInfo(top.file(), d.format(), 0, null, null, null, List.of(), null);
        String sourceNode = top.node();
        String source = top.file();
        String sourceFormat = image.format() != null ? image.format() : d.format();
        long sourceSize = image.virtualSize();
        Path dest = destinations.path(req.dest(), source, image);
        String format = req.format() == null ? sourceFormat : req.format();
        if (!format.equals("qcow2") && !format.equals("raw")) {
            throw bad("format must be qcow2 or raw, not '" + format + "'");
        }
        DestinationCheck.Backing backing = req.isShallow() ? DestinationCheck.Backing.of(image) : null;
        if (backing != null && !format.equals("qcow2")) {
            throw bad("a shallow copy keeps the source's backing file, which needs a qcow2 destination");
        }
        DestinationCheck.tuning(req);
        if (Boolean.TRUE.equals(req.synchronousWrites())) {
            monitor.require(Feature.MIRROR_WRITE_BLOCKING, "--synchronous-writes");
        }
        boolean exists = Files.exists(dest, LinkOption.NOFOLLOW_LINKS);
        if (exists && !req.isReuse()) {
            throw new JvirtException(ErrorCode.DESTINATION_EXISTS, "destination " + dest
                    + " exists; give --reuse-external to copy into it", Map.of("dest", dest.toString()));
        }
        if (!exists && req.isReuse()) {
            throw bad("--reuse-external: destination " + dest + " does not exist");
        }
        if (exists) {
            destinations.reused(dest, format, sourceSize, backing);
        }

        String jobId = "copy-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        CopyRecord r = new CopyRecord(vm, disk, jobId, source, sourceFormat, sourceNode, dest.toString(), format,
                backing != null, !exists, CopyRecord.Step.PREPARED, null, Instant.now(), Instant.now(), null,
                null, null);
        copies.save(r); // intent first: a restart then knows the nodes and the file to clean up
        try {
            if (!exists) {
                // the source's size even for a shallow copy: the top may be larger than its backing
                qemuImg.create(dest, format, sourceSize, backing == null ? null : Path.of(backing.file()),
                        backing == null ? null : backing.format());
            }
            ctx.grantToQemu(dest, io.jvirt.vm.Confinement.Access.WRITE); // an unprivileged QEMU opens it next
            monitor.block().blockdevAdd(Blockdev.format(format, r.targetNode(), Blockdev.file(r.targetFileNode(), dest)));
        } catch (RuntimeException e) {
            undo(monitor, r);
            throw e instanceof JvirtException j ? j : new JvirtException(ErrorCode.QEMU_FAILED,
                    "cannot prepare the destination " + dest + ": " + e.getMessage(), Map.of("dest", dest.toString()), e);
        }

        ActiveCopy c = new ActiveCopy(r, monitor, ctx.qemuPid()); // follows the job from before it exists
        Long speed = req.bandwidthMiB() != null && req.bandwidthMiB() > 0 ? req.bandwidthMiB() * MIB : null;
        try {
            monitor.block().blockdevMirror(new MirrorOptions(jobId, sourceNode, r.targetNode(), backing != null, speed,
                    req.granularity(), req.bufSize(), Boolean.TRUE.equals(req.synchronousWrites())));
        } catch (RuntimeException e) {
            c.stopFollowing();
            undo(monitor, r);
            throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU refused the copy of disk " + disk + ": " + e.getMessage(),
                    Map.of("vm", vm, "disk", disk), e);
        }
        copies.add(c);
        copies.save(c, r.at(CopyRecord.Step.COPYING));
        copies.publish(c, "copying", null, "copying " + source + " to " + dest + (backing != null ? " (top layer only)" : ""));
        Fault.point("blockcopy", "copying", c.qemuPid());
        return c;
    }

    /** The start failed before QEMU's job existed: remove the target nodes and the file we made, end the record. */
    void undo(Monitor monitor, CopyRecord r) {
        BlockGraph.delete(monitor, r.targetNode(), r.targetFileNode());
        if (r.createdDest()) {
            try {
                Files.deleteIfExists(Path.of(r.dest()));
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", r.dest(), e.toString());
            }
        }
        copies.forget(r);
    }

    private static JvirtException bad(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
