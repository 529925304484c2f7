package io.jvirt.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.monitor.CapabilityCache;
import io.jvirt.store.DocumentStore;
import io.jvirt.testing.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests queued ({@code queue=S}) behind a job on a VM that is undefined meanwhile: when they get the slot, the
 * VM they waited for is no longer the registered one, and they must not act on it. No QEMU is needed: the start
 * is refused before anything is spawned.
 */
class QueuedJobRaceTest {
    @TempDir
    Path tmp;
    DocumentStore store;
    VmManager vms;
    final ObjectMapper mapper = io.jvirt.api.Json.mapper();
    /** One thread per queued request (the common pool has a single worker on 2 cores). */
    final java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    @BeforeEach
    void open() throws Exception {
        store = DocumentStore.open(tmp.resolve("state"), mapper);
        vms = new VmManager(new VmManager.Config(tmp.resolve("run"), "/usr/bin/qemu-system-x86_64", Accelerator.TCG,
                Duration.ofSeconds(30), new CapabilityCache(tmp.resolve("caps"))), store);
    }

    @AfterEach
    void close() throws Exception {
        threads.shutdownNow();
        store.close();
    }

    private VmView define(String name) {
        return vms.define(mapper.convertValue(TestGuest.definition(name), VmDefinition.class));
    }

    /** Waits until {@code n} threads queue for the VM's slot (the semaphore is fair: they get it in that order). */
    private static void awaitQueued(Vm vm, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (vm.jobs().queueLength() < n) {
            assertThat(System.nanoTime()).as("%d queued", n).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void aStartQueuedBehindAnUndefineNeitherBootsNorRecreatesTheVm() throws Exception {
        define("racer");
        Vm old = vms.find("racer");
        Job holder = old.jobs().acquire("holder", null, Duration.ZERO);
        CompletableFuture<Void> undefine = CompletableFuture.runAsync(() -> vms.undefine("racer", Duration.ofSeconds(20)), threads);
        awaitQueued(old, 1);
        CompletableFuture<VmView> start = CompletableFuture.supplyAsync(() ->
                vms.prepareStart("racer", "op-1", Duration.ofSeconds(20)).run(), threads);
        awaitQueued(old, 2);

        holder.close();
        undefine.get();
        assertThatThrownBy(start::join).cause().isInstanceOf(JvirtException.class)
                .satisfies(e -> assertThat(((JvirtException) e).code()).isEqualTo(ErrorCode.VM_NOT_FOUND))
                .hasMessageContaining("undefined while this request waited");
        assertThat(vms.count()).isZero();
        assertThat(store.owners(VmManager.DEFINITION)).isEmpty();
        assertThat(Files.exists(store.ownerDir("racer"))).as("no state recreated").isFalse();
        assertThat(Files.exists(tmp.resolve("run").resolve("racer"))).as("nothing spawned").isFalse();
    }

    @Test
    void aSecondQueuedUndefineLeavesANewerVmOfTheSameNameAlone() throws Exception {
        define("twin");
        Vm old = vms.find("twin");
        String oldUuid = old.definition().uuid();
        Job holder = old.jobs().acquire("holder", null, Duration.ZERO);
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> vms.undefine("twin", Duration.ofSeconds(20)), threads);
        awaitQueued(old, 1);
        // in between the two undefines: something that defines a new "twin" once the first one is done
        CompletableFuture<Void> redefine = CompletableFuture.runAsync(() -> {
            try (Job j = old.jobs().acquire("redefine", null, Duration.ofSeconds(20))) {
                define("twin");
            }
        }, threads);
        awaitQueued(old, 2);
        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> vms.undefine("twin", Duration.ofSeconds(20)), threads);
        awaitQueued(old, 3);

        holder.close();
        first.get();
        redefine.get();
        assertThatThrownBy(second::join).cause().isInstanceOf(JvirtException.class)
                .satisfies(e -> assertThat(((JvirtException) e).code()).isEqualTo(ErrorCode.VM_NOT_FOUND));
        VmView twin = vms.get("twin");
        assertThat(twin.uuid()).isNotEqualTo(oldUuid);
        assertThat(store.owners(VmManager.DEFINITION)).containsExactly("twin");
        assertThat(store.get("twin", VmManager.DEFINITION, VmDefinition.class).orElseThrow().uuid()).isEqualTo(twin.uuid());
    }
}
