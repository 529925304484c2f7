package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Starting and waiting for the daemon's operations (docs/api.md): a long action answers an operation, which the
 * request itself can wait for ({@code ?wait=true}) or the client polls ({@code GET /v1/operations/{id}/wait}) within a
 * time limit of its own.
 */
final class Operations {
    private Operations() {
    }

    /**
     * Starts an operation and, unless {@code --no-wait}, waits for it: without {@code --timeout} the request itself
     * waits, with one the client polls and gives up after it (exit 6, the operation keeps running).
     *
     * @param query more query parameters (e.g. {@code queue}), or null; not changed
     * @return the operation: running with {@code --no-wait}, else finished with success
     */
    static JsonNode run(ApiClient api, String method, String path, Map<String, Object> query, JsonNode body,
                        Options.Wait wait, String what) throws Exception {
        Map<String, Object> q = query == null ? new LinkedHashMap<>() : new LinkedHashMap<>(query);
        Integer timeout = wait.timeout();
        if (wait.noWait) return api.call(method, path, q, body);
        if (timeout == null) q.put("wait", "true");
        return await(api, api.call(method, path, q, body), timeout, what);
    }

    /**
     * Waits until {@code op} is finished (polling {@code /operations/{id}/wait}), then returns it if it succeeded and
     * throws its error otherwise.
     *
     * @param timeoutSeconds overall limit, or null for none
     * @param what           what is waited for, for messages ("VM demo to start")
     */
    static JsonNode await(ApiClient api, JsonNode op, Integer timeoutSeconds, String what) throws Exception {
        long deadline = timeoutSeconds == null ? Long.MAX_VALUE : System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (op != null && "running".equals(op.path("status").asText())) {
            long leftMs = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : (deadline - System.nanoTime()) / 1_000_000;
            String id = op.path("id").asText();
            if (leftMs <= 0) {
                throw new CliException(JvirtCli.EXIT_TIMEOUT, "timed out after " + timeoutSeconds + " s waiting for "
                        + what + " (operation " + id + " is still running)");
            }
            long waitS = Math.max(1, Math.min(60, (leftMs + 999) / 1000));
            Map<String, Object> q = new LinkedHashMap<>();
            q.put("timeout", waitS);
            api.setTimeoutMillis((waitS + 30) * 1000);
            try {
                op = api.get("/v1/operations/" + ApiClient.segment(id) + "/wait", q);
            } finally {
                api.setTimeoutMillis(0);
            }
        }
        if (op == null) throw new IOException("jvirtd answered no operation");
        String status = op.path("status").asText();
        if (status.equals("failure") || status.equals("cancelled")) {
            JsonNode e = op.get("error");
            if (e == null || !e.isObject()) {
                throw new ApiException(-1, status.equals("cancelled") ? "cancelled" : null,
                        what + " " + (status.equals("cancelled") ? "was cancelled" : "failed"), null);
            }
            throw ApiException.fromError(-1, e);
        }
        return op;
    }
}
