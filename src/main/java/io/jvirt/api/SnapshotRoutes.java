package io.jvirt.api;

import io.jvirt.snapshot.Snapshot;
import io.jvirt.snapshot.SnapshotRequest;
import io.jvirt.snapshot.SnapshotService;
import io.jvirt.error.ErrorCode;
import io.jvirt.vm.PendingJob;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** /v1/vms/{name}/snapshots: list, create, info, revert, delete (the long ones are operations). */
final class SnapshotRoutes {
    private final SnapshotService snapshots;
    private final Operations operations;

    SnapshotRoutes(SnapshotService snapshots, Operations operations) {
        this.snapshots = snapshots;
        this.operations = operations;
    }

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
            String id = Operations.newId();
            PendingJob<Snapshot> job = snapshots.prepareCreate(ex.param("name"), req, id, queue(ex));
            operations.respond(ex, operations.run(id, "snapshot-create", ex.param("name"), job::run, () -> job.cancel("cancelled by the client")));
        });
        r.add("POST", "/v1/vms/{name}/snapshots/{snap}/revert", ex -> {
            String id = Operations.newId();
            PendingJob<Snapshot> job = snapshots.prepareRevert(ex.param("name"), ex.param("snap"), id, queue(ex));
            operations.respond(ex, operations.run(id, "snapshot-revert", ex.param("name"), job::run, () -> job.cancel("cancelled by the client")));
        });
        r.add("DELETE", "/v1/vms/{name}/snapshots/{snap}", ex -> {
            String id = Operations.newId();
            PendingJob<Snapshot> job = snapshots.prepareDelete(ex.param("name"), ex.param("snap"), id, queue(ex));
            operations.respond(ex, operations.run(id, "snapshot-delete", ex.param("name"), job::run, () -> job.cancel("cancelled by the client")));
        });
    }

    private static Duration queue(Exchange ex) {
        return ex.querySeconds("queue", Duration.ZERO);
    }

}
