package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.migration.MigrationJob;
import io.jvirt.migration.MigrationProgress;
import io.jvirt.migration.MigrationRequest;
import io.jvirt.migration.MigrationService;
import io.jvirt.migration.PeerMessages;
import io.jvirt.tls.Role;
import io.jvirt.vm.PendingJob;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Migration: {@code POST /v1/vms/{name}/migration} starts one (an operation of kind {@code migration} whose progress
 * follows the migration), {@code .../migration/cancel} cancels it, {@code GET .../migration} tells how it goes. The
 * peer routes under {@code /v1/peer/migrations} are the destination's side, for a jvirtd host certificate only.
 */
final class MigrationRoutes {
    private final MigrationService migrations;
    private final Operations operations;
    private final Map<String, Operation> byId = new ConcurrentHashMap<>();
    /** Peer connections already watched for their close, per migration id. */
    private final Set<String> watched = ConcurrentHashMap.newKeySet();

    MigrationRoutes(MigrationService migrations, Operations operations) {
        this.migrations = migrations;
        this.operations = operations;
        migrations.addListener(this::onProgress);
    }

    private void onProgress(MigrationProgress p) {
        Operation op = byId.get(p.id());
        if (op != null) {
            operations.report(op, p);
        }
    }

    void register(Router r) {
        r.add("POST", "/v1/vms/{name}/migration", ex -> {
            MigrationRequest req = ex.bodyAs(MigrationRequest.class, ErrorCode.INVALID_ARGUMENT);
            String vm = ex.param("name");
            String id = Operations.newId();
            PendingJob<MigrationProgress> job = migrations.prepare(vm, req, id, ex.querySeconds("queue", java.time.Duration.ZERO));
            Operation op = operations.run(id, MigrationJob.OUTGOING.wire(), vm, () -> {
                try {
                    return job.run();
                } finally {
                    byId.remove(id);
                }
            }, () -> job.cancel("cancelled by the client"));
            byId.put(id, op);
            operations.respond(ex, op);
        });
        r.add("POST", "/v1/vms/{name}/migration/cancel", ex -> ex.json(200, orEmpty(migrations.cancel(ex.param("name")))));
        r.add("POST", "/v1/vms/{name}/migration/postcopy", ex -> ex.json(200, orEmpty(migrations.startPostcopy(ex.param("name")))));
        r.add("POST", "/v1/vms/{name}/migration/resume", ex -> ex.json(200, orEmpty(migrations.resumePostcopy(ex.param("name")))));
        r.add("GET", "/v1/vms/{name}/migration", ex -> ex.json(200, orEmpty(migrations.progress(ex.param("name")).orElse(null))));

        r.add("POST", "/v1/peer/migrations", ex -> {
            requireHost(ex);
            PeerMessages.Prepare req = ex.bodyAs(PeerMessages.Prepare.class, ErrorCode.INVALID_ARGUMENT);
            watch(ex, req.id());
            ex.json(201, migrations.prepareIncoming(req, ex.localAddress()));
        });
        r.add("GET", "/v1/peer/migrations/{id}", ex -> {
            requireHost(ex);
            ex.json(200, migrations.phase(ex.param("id")));
        });
        r.add("POST", "/v1/peer/migrations/{id}/ping", ex -> {
            requireHost(ex);
            watch(ex, ex.param("id"));
            ex.json(200, migrations.ping(ex.param("id")));
        });
        r.add("POST", "/v1/peer/migrations/{id}/finish", ex -> {
            requireHost(ex);
            // the body (what the guest printed on the source since Prepare) is absent when recovery repeats Finish
            PeerMessages.Finish body = ex.declaredLength() == 0 ? null : ex.bodyAs(PeerMessages.Finish.class, ErrorCode.INVALID_ARGUMENT);
            ex.json(200, migrations.finish(ex.param("id"), body));
        });
        r.add("POST", "/v1/peer/migrations/{id}/console", ex -> {
            requireHost(ex);
            migrations.console(ex.param("id"), ex.bodyAs(PeerMessages.ConsoleChunk.class, ErrorCode.INVALID_ARGUMENT));
            ex.json(200, Map.of("id", ex.param("id")));
        });
        r.add("POST", "/v1/peer/migrations/{id}/recover", ex -> {
            requireHost(ex);
            watch(ex, ex.param("id"));
            ex.json(200, migrations.recover(ex.param("id"), ex.localAddress()));
        });
        r.add("POST", "/v1/peer/migrations/{id}/confirmed", ex -> {
            requireHost(ex);
            migrations.confirmed(ex.param("id"));
            ex.json(200, Map.of("id", ex.param("id")));
        });
        r.add("POST", "/v1/peer/migrations/{id}/abort", ex -> {
            requireHost(ex);
            PeerMessages.Abort a = ex.bodyAs(PeerMessages.Abort.class, ErrorCode.INVALID_ARGUMENT);
            ex.json(200, migrations.abort(ex.param("id"), a.reason() == null ? "aborted by the source"
                    : "aborted by the source: " + a.reason()));
        });
    }

    /** The first request of a migration on a connection: its close aborts the migration (before Finish). */
    private void watch(Exchange ex, String id) {
        if (watched.add(id)) {
            ex.onConnectionClose(() -> {
                watched.remove(id);
                migrations.connectionClosed(id);
            });
        }
    }

    private static void requireHost(Exchange ex) {
        Role role = ex.peerIdentity().map(io.jvirt.tls.Identity::role).orElse(null);
        if (role != Role.HOST) {
            throw new JvirtException(ErrorCode.FORBIDDEN, "the peer routes are for jvirtd hosts: a certificate with"
                    + " role 'host' over the TLS listener (this caller: " + (role == null ? "no certificate" : role.name().toLowerCase())
                    + ")", Map.of("rule", "role"));
        }
    }

    private static Object orEmpty(Object o) {
        return o == null ? Map.of() : o;
    }
}
