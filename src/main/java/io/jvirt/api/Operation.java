package io.jvirt.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/** A long action's public record (Incus-style): clients poll it, wait on it, or cancel it. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public final class Operation {
    public enum Status {
        running, success, failure, cancelled
    }

    private final String id;
    private final String kind;
    private final String vm;
    private final Instant createdAt;
    private volatile Status status = Status.running;
    private volatile Instant updatedAt;
    private volatile Object progress;
    private volatile ApiErrors.ErrorBody error;
    private volatile Object result;
    private volatile Runnable canceller = () -> { };
    private final CompletableFuture<Operation> done = new CompletableFuture<>();
    /** A result with a secret in it (a generated password), shown once; {@link #result} is its redacted form. */
    private final java.util.concurrent.atomic.AtomicReference<Object> secretResult =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** What a work may return when its result holds a secret: the full result, shown once, and the one shown after. */
    record OneTimeResult(Object full, Object redacted) {
    }

    /** The operation as one read shows it, with the full result in place of the redacted one. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Revealed(String id, String kind, String vm, Status status, Instant createdAt, Instant updatedAt,
            Object progress, ApiErrors.ErrorBody error, Object result) {
    }

    Operation(String id, String kind, String vm) {
        this.id = id;
        this.kind = kind;
        this.vm = vm;
        this.createdAt = Instant.now();
        this.updatedAt = createdAt;
    }

    public String getId() {
        return id;
    }

    public String getKind() {
        return kind;
    }

    public String getVm() {
        return vm;
    }

    public Status getStatus() {
        return status;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }

    public Object getProgress() {
        return progress;
    }

    public ApiErrors.ErrorBody getError() {
        return error;
    }

    public Object getResult() {
        return result;
    }

    /**
     * This operation for the one read that may see its secret: the first call after it finished with a secret
     * result gets the full result (and the secret is then forgotten); every other call gets the operation itself.
     */
    Object revealOnce() {
        if (!done.isDone()) {
            return this;
        }
        Object full = secretResult.getAndSet(null);
        return full == null ? this
                : new Revealed(id, kind, vm, status, createdAt, updatedAt, progress, error, full);
    }

    @JsonIgnore
    CompletableFuture<Operation> done() {
        return done;
    }

    @JsonIgnore
    boolean isDone() {
        return done.isDone();
    }

    void canceller(Runnable r) {
        this.canceller = r;
    }

    void cancel() {
        canceller.run();
    }

    void progress(Object p) {
        this.progress = p;
        this.updatedAt = Instant.now();
    }

    synchronized boolean finish(Status s, Object result, ApiErrors.ErrorBody error) {
        if (done.isDone()) {
            return false;
        }
        if (result instanceof OneTimeResult once) {
            secretResult.set(once.full());
            result = once.redacted(); // what events, lists and every later read show
        }
        this.result = result;
        this.error = error;
        this.status = s;
        this.updatedAt = Instant.now();
        done.complete(this);
        return true;
    }
}
