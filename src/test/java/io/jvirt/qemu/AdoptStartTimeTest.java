package io.jvirt.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adoption checks the process's start time (/proc/PID/stat field 22) against the record: a process that names the
 * VM's monitor socket but started at another time (a recycled pid) is not adopted. A plain process stands in for
 * QEMU: its command line names the socket path, which is all adoption looks at before the start time.
 */
class AdoptStartTimeTest {
    @TempDir
    Path tmp;

    @Test
    void theStartTimeIsReadFromProc() {
        Instant jvm = Instant.ofEpochMilli(java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime());
        Instant read = ProcessInfo.startTime(ProcessHandle.current().pid()).orElseThrow();
        assertThat(Duration.between(read, jvm).abs()).isLessThan(Duration.ofSeconds(2));
        assertThat(ProcessInfo.startTime(Long.MAX_VALUE / 2)).isEmpty();
    }

    @Test
    void aProcessThatStartedAtAnotherTimeIsNotAdopted() throws Exception {
        QemuPaths paths = new QemuPaths(tmp.resolve("run"), tmp.resolve("state"));
        Process p = new ProcessBuilder("bash", "-c", "sleep 30; true", paths.qmpSocket().toString()).start();
        try {
            Instant started = ProcessInfo.startTime(p.pid()).orElseThrow();
            assertThat(QemuInstance.adopt(p.pid(), paths, started.plusMillis(400), "/usr/bin/qemu-system-x86_64"))
                    .as("the recorded start, within the slack").isPresent();
            assertThat(QemuInstance.adopt(p.pid(), paths, started.minus(Duration.ofHours(1)), "/usr/bin/qemu-system-x86_64"))
                    .as("the pid was recycled: not ours").isEmpty();
            assertThat(QemuInstance.adopt(p.pid(), paths, null, "/usr/bin/qemu-system-x86_64"))
                    .as("no recorded start: the command line decides").isPresent();
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
