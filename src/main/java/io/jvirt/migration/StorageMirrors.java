package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.BlockGraph;
import io.jvirt.qemu.monitor.Blockdev;
import io.jvirt.qemu.monitor.JobStatus;
import io.jvirt.qemu.monitor.MirrorOptions;
import io.jvirt.qemu.monitor.Monitor;
import io.jvirt.qemu.monitor.MonitorException;
import io.jvirt.qemu.monitor.QemuJob;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source's storage copy in libvirt's order: an NBD client node per copied disk on the destination's export,
 * {@code blockdev-mirror sync=full} into it, every mirror READY (by its event) before RAM moves, and at
 * {@code pre-switchover} a non-force cancel of each READY mirror (the destination holds an exact copy, the source
 * keeps its own disk to fall back on), then the NBD nodes deleted.
 */
final class StorageMirrors implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StorageMirrors.class);

    static String jobId(String disk) {
        return "migration-" + disk;
    }

    static String nodeName(String disk) {
        return "migration-" + disk + "-storage";
    }

    private final Monitor monitor;
    private final List<String> disks;
    private final List<QemuJob> jobs = new ArrayList<>();
    private final List<String> nodes = new ArrayList<>();

    StorageMirrors(Monitor monitor, List<String> disks) {
        this.monitor = monitor;
        this.disks = disks;
    }

    List<String> jobIds() {
        return disks.stream().map(StorageMirrors::jobId).toList();
    }

    /** Adds the NBD nodes and starts the mirrors (following each job before its command). */
    void start(PeerMessages.Prepared dest, String tlsCreds, Long speed, boolean topOnly) {
        BlockGraph graph = BlockGraph.query(monitor);
        for (String disk : disks) {
            String node = nodeName(disk);
            monitor.block().blockdevAdd(Blockdev.nbd(node, dest.nbdHost(), dest.nbdPort(), dest.exports().get(disk), tlsCreds));
            nodes.add(node);
            QemuJob job = QemuJob.follow(monitor, jobId(disk), null);
            jobs.add(job);
            monitor.block().blockdevMirror(new MirrorOptions(jobId(disk), graph.require(disk).node(), node, topOnly, speed,
                    null, null, false));
        }
    }

    /** Waits until every mirror is READY, racing {@code abandon} (cancel, peer lost); a mirror that ends fails it. */
    void awaitReady(Duration timeout, CompletableFuture<?> abandon) {
        for (QemuJob job : jobs) {
            try {
                CompletableFuture.anyOf(job.ready(), job.concluded(), monitor.closed(), abandon)
                        .get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new JvirtException(ErrorCode.TIMEOUT, "the storage copy was not ready within " + timeout.toSeconds() + " s");
            } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                throw new JvirtException(ErrorCode.CANCELLED, "interrupted while copying storage");
            }
            if (abandon.isDone()) {
                String why = String.valueOf(abandon.getNow(null));
                throw new JvirtException(why.startsWith("peer lost") ? ErrorCode.PEER_LOST : ErrorCode.CANCELLED,
                        "storage copy given up: " + why);
            }
            if (!job.ready().isDone()) {
                String why = job.concluded().isDone() ? job.dismiss().orElse("it ended before it was ready") : "QEMU exited";
                throw new JvirtException(ErrorCode.MIGRATION_FAILED, "the storage copy of " + job.id() + " failed: " + why);
            }
        }
    }

    /** Whether a mirror failed (concluded) while RAM moves. */
    boolean anyEnded() {
        return jobs.stream().anyMatch(j -> j.concluded().isDone());
    }

    /** At pre-switchover (vCPUs stopped): completes each READY mirror without pivoting, deletes the NBD nodes. */
    void finishAtSwitchover(Duration timeout) {
        for (QemuJob job : jobs) {
            if (job.status() != JobStatus.READY) {
                throw new JvirtException(ErrorCode.MIGRATION_FAILED, "mirror " + job.id() + " is " + job.status()
                        + " at switch-over, not ready");
            }
            job.cancelBlockJob();
        }
        for (QemuJob job : jobs) {
            job.awaitConcluded(timeout, null, "ending mirror " + job.id());
            job.dismiss().ifPresent(err -> {
                throw new JvirtException(ErrorCode.MIGRATION_FAILED, "mirror " + job.id() + " failed at the end: " + err);
            });
        }
        deleteNodes();
    }

    /**
     * On failure: force-cancels what still runs, waits for it, deletes the NBD nodes; never throws. With
     * {@code peerLost}, the NBD connections are yanked first (a dead peer never answers the requests in flight).
     */
    void abort(boolean peerLost) {
        if (peerLost) {
            for (String node : nodes) {
                try {
                    monitor.nbd().yankNode(node);
                } catch (RuntimeException e) {
                    log.warn("cannot yank NBD node {}: {}", node, e.getMessage());
                }
            }
        }
        for (QemuJob job : jobs) {
            try {
                if (!job.concluded().isDone()) {
                    monitor.block().blockJobCancel(job.id(), true);
                    job.awaitConcluded(Duration.ofSeconds(30), null, "cancelling " + job.id());
                }
                job.dismiss();
            } catch (RuntimeException e) {
                log.warn("cannot cancel mirror {}: {}", job.id(), e.getMessage());
            }
        }
        deleteNodes();
    }

    private void deleteNodes() {
        for (String node : List.copyOf(nodes)) {
            try {
                monitor.block().blockdevDel(node);
                nodes.remove(node);
            } catch (MonitorException e) {
                log.warn("cannot delete NBD node {}: {}", node, e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        jobs.forEach(QemuJob::close);
    }

    /** After a daemon restart: settles mirrors and NBD nodes a dead daemon left (the copy is abandoned). */
    static void settle(Monitor monitor, List<String> disks) {
        for (String disk : disks) {
            try {
                var j = monitor.jobs().queryJobs().stream().filter(x -> jobId(disk).equals(x.id())).findFirst();
                if (j.isPresent()) {
                    try (QemuJob job = QemuJob.follow(monitor, jobId(disk), null)) {
                        if (!j.get().status().isEnd()) {
                            monitor.block().blockJobCancel(jobId(disk), true);
                        }
                        job.awaitConcluded(Duration.ofSeconds(30), null, "cancelling " + jobId(disk));
                        job.dismiss();
                    }
                }
                monitor.block().blockdevDel(nodeName(disk));
            } catch (RuntimeException e) {
                log.info("settling migration mirror of {}: {}", disk, e.getMessage());
            }
        }
    }

    static Map<String, Object> progress(Monitor monitor) {
        return Map.of();
    }
}
