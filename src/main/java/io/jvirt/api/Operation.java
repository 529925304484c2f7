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
        this.result = result;
        this.error = error;
        this.status = s;
        this.updatedAt = Instant.now();
        done.complete(this);
        return true;
    }
}
