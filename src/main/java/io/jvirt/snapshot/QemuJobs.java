package io.jvirt.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpClient;
import io.jvirt.qmp.QmpEvent;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one QEMU background job (snapshot-save/load/delete, block-commit) to its end, driven by its
 * JOB_STATUS_CHANGE events: "ready" gets job-complete (the pivot of an active commit), "concluded" ends the wait;
 * then query-jobs tells success from failure and job-dismiss removes it. Also measures the guest pause (the time
 * between QEMU's STOP and RESUME events) while the job runs.
 */
final class QemuJobs {
    private QemuJobs() {
    }

    record Result(Long pauseMillis) {
    }

    static Result run(QmpClient qmp, String command, ObjectNode args, Duration timeout) {
        String id = args.path("job-id").asText();
        CompletableFuture<Void> concluded = new CompletableFuture<>();
        Instant[] stopResume = new Instant[2];
        try (AutoCloseable status = qmp.onEvent("JOB_STATUS_CHANGE", e -> onStatus(qmp, id, e, concluded));
             AutoCloseable stop = qmp.onEvent("STOP", e -> stopResume[0] = e.timestamp());
             AutoCloseable resume = qmp.onEvent("RESUME", e -> stopResume[1] = e.timestamp())) {
            qmp.execute(command, args);
            CompletableFuture.anyOf(concluded, qmp.closed()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!concluded.isDone()) {
                throw new JvirtException(ErrorCode.QEMU_FAILED, "QEMU exited during " + command);
            }
            return finish(qmp, id, command, stopResume);
        } catch (JvirtException e) {
            throw e;
        } catch (java.util.concurrent.TimeoutException e) {
            throw new JvirtException(ErrorCode.TIMEOUT, command + " did not finish within " + timeout.toSeconds() + " s",
                    Map.of("job", id));
        } catch (Exception e) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, command + " failed: " + e.getMessage(), Map.of("job", id), e);
        }
    }

    private static void onStatus(QmpClient qmp, String id, QmpEvent e, CompletableFuture<Void> concluded) {
        if (!id.equals(e.data().path("id").asText())) {
            return;
        }
        switch (e.data().path("status").asText()) {
            case "ready" -> qmp.submit("job-complete", QmpClient.args("id", id)).exceptionally(t -> null);
            case "concluded", "null" -> concluded.complete(null);
            default -> { }
        }
    }

    /** The job concluded: read its error, if any (a query after the event, not polling), and dismiss it. */
    private static Result finish(QmpClient qmp, String id, String command, Instant[] stopResume) {
        String error = null;
        for (JsonNode j : qmp.execute("query-jobs")) {
            if (id.equals(j.path("id").asText())) {
                error = j.hasNonNull("error") ? j.path("error").asText() : null;
                if ("concluded".equals(j.path("status").asText())) {
                    qmp.execute("job-dismiss", QmpClient.args("id", id));
                }
            }
        }
        if (error != null) {
            throw new JvirtException(ErrorCode.QEMU_FAILED, command + " failed: " + error, Map.of("job", id));
        }
        Long pause = stopResume[0] != null && stopResume[1] != null
                ? Duration.between(stopResume[0], stopResume[1]).toMillis() : null;
        return new Result(pause);
    }

    /**
     * After a restart: if QEMU still has the job, waits for it to conclude (by its events; the query after
     * subscribing only catches the case where it already had) and dismisses it. Returns its error, if any.
     */
    static String settle(QmpClient qmp, String id, Duration timeout) {
        CompletableFuture<Void> concluded = new CompletableFuture<>();
        try (AutoCloseable status = qmp.onEvent("JOB_STATUS_CHANGE", e -> onStatus(qmp, id, e, concluded))) {
            JsonNode j = find(qmp, id);
            if (j == null) {
                return null;
            }
            if ("ready".equals(j.path("status").asText())) {
                // its ready event went to the daemon that died: nobody would ever complete it
                qmp.submit("job-complete", QmpClient.args("id", id)).exceptionally(t -> null);
            }
            if (!"concluded".equals(j.path("status").asText())) {
                CompletableFuture.anyOf(concluded, qmp.closed()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            j = find(qmp, id);
            if (j != null && "concluded".equals(j.path("status").asText())) {
                qmp.execute("job-dismiss", QmpClient.args("id", id));
            }
            return j != null && j.hasNonNull("error") ? j.path("error").asText() : null;
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** Whether QEMU still has a job with this id (after a restart: was it left running?). */
    static JsonNode find(QmpClient qmp, String id) {
        for (JsonNode j : qmp.execute("query-jobs")) {
            if (id.equals(j.path("id").asText())) {
                return j;
            }
        }
        return null;
    }
}
