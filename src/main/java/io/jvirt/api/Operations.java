package io.jvirt.api;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import io.jvirt.vm.JobKind;
import io.jvirt.vm.PendingJob;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Running and recently finished operations. Each runs as one sequential flow on its own virtual thread. */
final class Operations {
    private static final Logger log = LoggerFactory.getLogger(Operations.class);
    private static final Duration RETENTION = Duration.ofMinutes(10);

    private final Map<String, Operation> operations = new ConcurrentHashMap<>();
    private final Consumer<Operation> onChange;
    private volatile Lifecycle lifecycle = new Lifecycle() {
    };

    /** Told when an operation starts and how it ends (metrics by kind and outcome). */
    interface Lifecycle {
        default void started(String kind) {
        }

        default void ended(String kind, String outcome) {
        }
    }

    void lifecycle(Lifecycle l) {
        this.lifecycle = l;
    }

    Operations(Consumer<Operation> onChange) {
        this.onChange = onChange;
    }

    static String newId() {
        return UUID.randomUUID().toString();
    }

    /**
     * A long action on a VM, the way every route starts one: a new operation id, the job admitted by {@code admit}
     * (given that id) on the request's thread, so a refusal is the request's answer; then the job runs as the
     * operation (cancelling it cancels the job) and the request is answered as {@link #respond} does.
     */
    void launch(Exchange ex, JobKind kind, String vm, Function<String, PendingJob<?>> admit) throws java.io.IOException {
        String id = newId();
        PendingJob<?> job = admit.apply(id);
        respond(ex, run(id, kind.wire(), vm, job::run, () -> job.cancel("cancelled by the client")));
    }

    /** Starts {@code work} as operation {@code id}; {@code cancel} is what DELETE /v1/operations/{id} does. */
    Operation run(String id, String kind, String vm, Supplier<Object> work, Runnable cancel) {
        expire();
        Operation op = new Operation(id, kind, vm);
        op.canceller(cancel);
        operations.put(id, op);
        onChange.accept(op);
        Lifecycle l = lifecycle;
        l.started(kind);
        Thread.ofVirtual().name("op-" + kind + "-" + vm).start(() -> {
            try {
                Object result = work.get();
                op.finish(Operation.Status.success, result, null);
            } catch (JvirtException e) {
                op.finish(e.code() == ErrorCode.CANCELLED ? Operation.Status.cancelled : Operation.Status.failure, null,
                        ApiErrors.body(e));
            } catch (RuntimeException e) {
                log.error("operation {} ({} {}) failed", id, kind, vm, e);
                op.finish(Operation.Status.failure, null, ApiErrors.body(new JvirtException(ErrorCode.INTERNAL, e.toString())));
            }
            l.ended(kind, op.getStatus().name());
            onChange.accept(op);
        });
        return op;
    }

    /** Sets a running operation's progress and tells the event stream. */
    void report(Operation op, Object progress) {
        if (!op.isDone()) {
            op.progress(progress);
            onChange.accept(op);
        }
    }

    Operation get(String id) {
        Operation op = operations.get(id);
        if (op == null) {
            throw new JvirtException(ErrorCode.OPERATION_NOT_FOUND, "no operation " + id, Map.of("operation", id));
        }
        return op;
    }

    List<Operation> list() {
        expire();
        return operations.values().stream().sorted(Comparator.comparing(Operation::getCreatedAt).reversed()).toList();
    }

    /** Waits until the operation ends or the timeout passes; returns it either way. */
    Operation await(Operation op, Duration timeout) {
        try {
            return op.done().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return op;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return op;
        } catch (ExecutionException e) {
            return op;
        }
    }

    Operation cancel(String id) {
        Operation op = get(id);
        if (!op.isDone()) {
            op.cancel();
        }
        return op;
    }

    private void expire() {
        Instant horizon = Instant.now().minus(RETENTION);
        operations.values().removeIf(op -> op.isDone() && op.getUpdatedAt().isBefore(horizon));
    }

    /** Answers a request that started {@code op}: 202 with it, or with {@code ?wait=true} the finished operation (or its error). */
    void respond(Exchange ex, Operation op) throws java.io.IOException {
        if (!ex.queryBool("wait")) {
            ex.json(202, op.revealOnce()); // it may have finished already: this answer is then its one read
            return;
        }
        Operation done = await(op, java.time.Duration.ofDays(1));
        if (done.getStatus() == Operation.Status.success) {
            ex.json(200, done.revealOnce());
            return;
        }
        ApiErrors.ErrorBody e = done.getError();
        ErrorCode code = ErrorCode.fromWire(e.code());
        ex.json(code == null ? 500 : code.httpStatus(), new ApiErrors.Envelope(e));
    }
}
