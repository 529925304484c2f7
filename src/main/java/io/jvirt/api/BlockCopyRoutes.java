package io.jvirt.api;

import io.jvirt.blockcopy.ActiveCopy;
import io.jvirt.blockcopy.BlockCopyService;
import io.jvirt.blockcopy.CopyEvent;
import io.jvirt.blockcopy.CopyJob;
import io.jvirt.blockcopy.CopyRequest;
import io.jvirt.blockcopy.CopyView;
import io.jvirt.error.ErrorCode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Live block copy: POST /v1/vms/{name}/disks/{disk}/copy starts one (an operation that lasts until the copy
 * ends); /v1/vms/{name}/disks/{disk}/job tells how it goes and pivots, finishes or aborts it.
 */
final class BlockCopyRoutes {
    private final BlockCopyService copies;
    private final Operations operations;
    /** Copy job id -> the operation that started it, whose progress follows the copy's events. */
    private final Map<String, Operation> byJob = new ConcurrentHashMap<>();

    BlockCopyRoutes(BlockCopyService copies, Operations operations) {
        this.copies = copies;
        this.operations = operations;
        copies.addListener(this::onEvent);
    }

    private void onEvent(CopyEvent e) {
        Operation op = byJob.get(e.job());
        if (op == null) {
            return;
        }
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("phase", e.phase());
        if (e.progress() != null) {
            p.put("transferred", e.progress().transferred());
            p.put("total", e.progress().total());
            p.put("remaining", e.progress().remaining());
            p.put("rate", e.progress().rate());
            p.put("percent", e.progress().percent());
        }
        if (e.message() != null) {
            p.put("message", e.message());
        }
        operations.report(op, p);
    }

    void register(Router r) {
        r.add("POST", "/v1/vms/{name}/disks/{disk}/copy", ex -> {
            CopyRequest req = ex.bodyAs(CopyRequest.class, ErrorCode.INVALID_ARGUMENT);
            ActiveCopy c = copies.start(ex.param("name"), ex.param("disk"), req);
            String id = Operations.newId();
            Operation op = operations.run(id, CopyJob.OPERATION, ex.param("name"), () -> {
                try {
                    return CopyView.of(copies.run(c, req));
                } finally {
                    byJob.remove(c.jobId());
                }
            }, () -> copies.abort(ex.param("name"), ex.param("disk")));
            byJob.put(c.jobId(), op);
            operations.respond(ex, op);
        });
        r.add("GET", "/v1/vms/{name}/blockjobs", ex -> ex.json(200, Map.of("jobs", copies.list(ex.param("name")))));
        r.add("GET", "/v1/vms/{name}/disks/{disk}/job", ex -> ex.json(200, copies.info(ex.param("name"), ex.param("disk"))));
        r.add("POST", "/v1/vms/{name}/disks/{disk}/job/pivot", ex -> ex.json(200, CopyView.of(
                copies.pivot(ex.param("name"), ex.param("disk"), ex.querySeconds("timeout", Duration.ofDays(365))))));
        r.add("POST", "/v1/vms/{name}/disks/{disk}/job/abort", ex -> ex.json(200, CopyView.of(
                copies.abort(ex.param("name"), ex.param("disk")))));
        r.add("POST", "/v1/vms/{name}/disks/{disk}/job/bandwidth", ex -> {
            BandwidthBody b = ex.bodyAs(BandwidthBody.class, ErrorCode.INVALID_ARGUMENT);
            if (b.bandwidthMiB() == null) {
                throw ApiErrors.badArgument("bandwidthMiB is needed (0: unlimited)");
            }
            copies.bandwidth(ex.param("name"), ex.param("disk"), b.bandwidthMiB());
            ex.json(200, copies.info(ex.param("name"), ex.param("disk")));
        });
    }

    record BandwidthBody(Long bandwidthMiB) {
    }
}
