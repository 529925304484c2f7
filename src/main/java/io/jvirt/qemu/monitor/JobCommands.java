package io.jvirt.qemu.monitor;

import io.jvirt.qmp.QmpArgs;
import java.util.List;

/**
 * QEMU's background jobs (get it from {@link Monitor#jobs()}): the generic job commands, and the commands that start
 * snapshot jobs. {@link QemuJob} follows one job through its events.
 */
public final class JobCommands {
    private final Monitor monitor;

    JobCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    public List<JobInfo> queryJobs() {
        return monitor.callForList("query-jobs", null, JobInfo.class);
    }

    /** Completes a ready job (for a mirror or an active commit: the switch to the target). */
    public void jobComplete(String id) {
        monitor.call("job-complete", QmpArgs.of("id", id));
    }

    /** As {@link #jobComplete}, without waiting for the answer (from an event handler). */
    public void jobCompleteLater(String id) {
        monitor.send("job-complete", QmpArgs.of("id", id));
    }

    public void jobCancel(String id) {
        monitor.call("job-cancel", QmpArgs.of("id", id));
    }

    /** Removes a concluded job (jvirt starts its jobs with auto-dismiss off, to read their error first). */
    public void jobDismiss(String id) {
        monitor.call("job-dismiss", QmpArgs.of("id", id));
    }

    /**
     * Starts job {@code jobId}: internal snapshot {@code tag} of the images of nodes {@code devices}, with the
     * guest's memory in the image of node {@code vmstate}.
     */
    public void snapshotSave(String jobId, String tag, String vmstate, List<String> devices) {
        monitor.call("snapshot-save", QmpArgs.of("job-id", jobId, "tag", tag, "vmstate", vmstate, "devices", devices));
    }

    /** Starts job {@code jobId}: loads internal snapshot {@code tag} (disks, memory and devices). */
    public void snapshotLoad(String jobId, String tag, String vmstate, List<String> devices) {
        monitor.call("snapshot-load", QmpArgs.of("job-id", jobId, "tag", tag, "vmstate", vmstate, "devices", devices));
    }
}
