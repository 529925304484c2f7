package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.snapshot.SnapshotJob;
import io.jvirt.snapshot.SnapshotRequest;
import io.jvirt.snapshot.SnapshotService;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** /v1/vms/{name}/snapshots: list, create, info, revert, delete (the long ones are operations). */
record SnapshotRoutes(SnapshotService snapshots, Operations operations) {

    void register(Router r) {
        r.add("GET", "/v1/vms/{name}/snapshots", ex -> {
            var tree = snapshots.tree(ex.param("name"));
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("current", tree.current());
            body.put("snapshots", tree.snapshots());
            if (ex.queryBool("live")) {
                body.put("live", snapshots.liveTops(ex.param("name")));
            }
            ex.json(200, body);
        });
        r.add("GET", "/v1/vms/{name}/snapshots/{snap}", ex -> ex.json(200, snapshots.info(ex.param("name"), ex.param("snap"))));
        r.add("POST", "/v1/vms/{name}/snapshots", ex -> {
            SnapshotRequest req = ex.bodyAs(SnapshotRequest.class, ErrorCode.INVALID_ARGUMENT);
            operations.launch(ex, SnapshotJob.CREATE, ex.param("name"),
                    id -> snapshots.prepareCreate(ex.param("name"), req, id, queue(ex)));
        });
        r.add("POST", "/v1/vms/{name}/snapshots/{snap}/revert", ex -> operations.launch(ex, SnapshotJob.REVERT,
                ex.param("name"), id -> snapshots.prepareRevert(ex.param("name"), ex.param("snap"), id, queue(ex))));
        r.add("DELETE", "/v1/vms/{name}/snapshots/{snap}", ex -> operations.launch(ex, SnapshotJob.DELETE,
                ex.param("name"), id -> snapshots.prepareDelete(ex.param("name"), ex.param("snap"), id, queue(ex))));
    }

    private static Duration queue(Exchange ex) {
        return ex.querySeconds("queue", Duration.ZERO);
    }

}
