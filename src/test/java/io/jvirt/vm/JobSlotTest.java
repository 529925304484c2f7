package io.jvirt.vm;

import io.jvirt.error.JvirtException;
import io.jvirt.error.ErrorCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class JobSlotTest {
    @Test
    void aBusySlotIsRefusedAtOnceNamingTheJob() {
        JobSlot slot = new JobSlot("web");
        try (Job start = slot.acquire("start", "op-1", Duration.ZERO)) {
            assertThat(slot.current()).contains(start);
            assertThatThrownBy(() -> slot.acquire("suspend", null, Duration.ZERO))
                    .isInstanceOfSatisfying(JvirtException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.VM_BUSY);
                        assertThat(e.getMessage()).contains("web", "start", "since");
                        assertThat(e.details()).containsEntry("job", "start").containsEntry("operation", "op-1");
                    });
        }
        assertThat(slot.current()).isEmpty();
        slot.acquire("suspend", null, Duration.ZERO).close();
    }

    @Test
    void queueingWaitsForTheSlotAcrossThreads() throws Exception {
        JobSlot slot = new JobSlot("web");
        Job first = slot.acquire("start", null, Duration.ZERO);
        CompletableFuture<Job> second = CompletableFuture.supplyAsync(() -> slot.acquire("suspend", null, Duration.ofSeconds(10)));
        Thread.sleep(50);
        assertThat(second).isNotDone();
        first.close(); // released from another thread than the waiter's: a semaphore, not an owned lock
        Job got = second.get(5, TimeUnit.SECONDS);
        assertThat(got.name()).isEqualTo("suspend");
        got.close();
        got.close(); // idempotent
        slot.acquire("x", null, Duration.ZERO).close();
    }

    @Test
    void cancellationIsSeenByTheJob() {
        JobSlot slot = new JobSlot("web");
        try (Job job = slot.acquire("shutdown", null, Duration.ZERO)) {
            assertThat(job.isCancelled()).isFalse();
            job.cancel("destroyed");
            assertThat(job.cancellation()).isCompletedWithValue("destroyed");
            assertThatThrownBy(job::throwIfCancelled).isInstanceOf(JvirtException.class).hasMessageContaining("destroyed");
        }
    }
}
