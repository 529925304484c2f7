package io.jvirt.api;

import java.time.Duration;

/** /v1/operations: inspect, wait for and cancel long actions. */
record OperationRoutes(Operations operations) {

    void register(Router r) {
        r.add("GET", "/v1/operations", ex -> ex.json(200, operations.list()));
        // a generated secret in a result is shown by the first of these reads after the end, and redacted since
        // (never to a read-only caller: it must neither see nor use up a password meant for the read-write one)
        r.add("GET", "/v1/operations/{id}", ex -> ex.json(200, reveal(ex, operations.get(ex.param("id")))));
        r.add("GET", "/v1/operations/{id}/wait", ex -> {
            Operation op = operations.get(ex.param("id"));
            ex.json(200, reveal(ex, operations.await(op, ex.querySeconds("timeout", Duration.ofSeconds(60)))));
        });
        r.add("DELETE", "/v1/operations/{id}", ex -> ex.json(200, operations.cancel(ex.param("id"))));
    }

    private static Object reveal(Exchange ex, Operation op) {
        return ex.readOnlyCaller() ? op : op.revealOnce();
    }
}
