package io.jvirt.qemu.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.qmp.BareQemu;
import io.jvirt.storage.QemuImg;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The typed monitor against a real QEMU (no machine, no guest): replies, events, jobs, errors, capabilities. */
class MonitorTest {
    private BareQemu qemu;
    private Monitor monitor;
    private Path cacheDir;

    @BeforeEach
    void start() throws Exception {
        qemu = BareQemu.start("-S");
        cacheDir = qemu.dir().resolve("caps");
        monitor = new Monitor(qemu.connect(), BareQemu.BINARY, new CapabilityCache(cacheDir));
    }

    @AfterEach
    void stop() {
        qemu.close();
    }

    @Test
    void runStateAndItsEventsAreTyped() throws Exception {
        assertThat(monitor.queryStatus()).isEqualTo(new RunStatus(false, RunState.PRELAUNCH));
        CompletableFuture<MonitorEvent.Resume> resumed = new CompletableFuture<>();
        CompletableFuture<MonitorEvent.Stop> stopped = new CompletableFuture<>();
        try (Subscription r = monitor.on(MonitorEvent.RESUME, resumed::complete);
             Subscription s = monitor.on(MonitorEvent.STOP, stopped::complete);
             GuestPause pause = GuestPause.measure(monitor)) {
            monitor.cont();
            assertThat(resumed.get(10, TimeUnit.SECONDS).at()).isNotNull();
            assertThat(monitor.queryStatus().status()).isEqualTo(RunState.RUNNING);
            monitor.stop();
            assertThat(stopped.get(10, TimeUnit.SECONDS).at()).isAfterOrEqualTo(resumed.get().at());
            assertThat(monitor.queryStatus()).isEqualTo(new RunStatus(false, RunState.PAUSED));
            monitor.cont();
            assertThat(pause.awaitMillis(Duration.ofSeconds(10))).isNotNull().isGreaterThanOrEqualTo(0L);
        }
    }

    @Test
    void capabilitiesAreReadOnceAndKeptOnDisk() {
        QemuCapabilities c = monitor.capabilities();
        for (Feature f : Feature.values()) {
            assertThat(c.has(f)).as(f.name()).isTrue(); // QEMU 7.2 has every feature jvirt asks about today
        }
        assertThat(c.commands()).containsKeys("query-block", "blockdev-mirror", "migrate");
        assertThat(c.commands().get("blockdev-mirror")).contains("job-id", "copy-mode", "auto-dismiss");
        assertThat(c.events()).contains("JOB_STATUS_CHANGE", "MIGRATION");
        assertThat(c.migrationCapabilities()).contains("events", "postcopy-ram");
        assertThat(c.hasCommand("no-such-command")).isFalse();
        assertThat(cacheDir).isDirectoryContaining(p -> p.toString().endsWith(".json"));
        // a new daemon reads it from disk: no schema is asked for
        QemuCapabilities again = new CapabilityCache(cacheDir).get(BareQemu.BINARY, monitor.version(), () -> {
            throw new AssertionError("the schema was asked for again");
        });
        assertThat(again).isEqualTo(c);
        // another build (another version string) is probed, not mistaken for this one
        assertThatThrownBy(() -> new CapabilityCache(cacheDir).get(BareQemu.BINARY, "1.0.0", () -> {
            throw new IllegalStateException("probed");
        })).hasMessage("probed");
    }

    @Test
    void aMirrorJobIsFollowedToReadyAndCancelled() throws Exception {
        QemuImg img = new QemuImg();
        Path src = qemu.dir().resolve("src.qcow2");
        Path dst = qemu.dir().resolve("dst.qcow2");
        img.create(src, "qcow2", 4L << 20, null, null);
        img.create(dst, "qcow2", 4L << 20, null, null);
        monitor.block().blockdevAdd(Blockdev.format("qcow2", "src", Blockdev.file("src-file", src)));
        monitor.block().blockdevAdd(Blockdev.format("qcow2", "dst", Blockdev.file("dst-file", dst)));
        List<BlockNode> nodes = monitor.block().queryNamedBlockNodes();
        assertThat(nodes).extracting(BlockNode::nodeName).contains("src", "src-file", "dst", "dst-file");
        assertThat(nodes).filteredOn(n -> n.nodeName().equals("src-file")).allMatch(BlockNode::isFileNode)
                .extracting(BlockNode::file).containsExactly(src.toString());
        assertThat(BlockGraph.query(monitor).byDisk()).isEmpty(); // no guest device: no disk

        List<JobStatus> seen = new CopyOnWriteArrayList<>();
        try (QemuJob job = QemuJob.follow(monitor, "m1", seen::add)) {
            monitor.block().blockdevMirror(new MirrorOptions("m1", "src", "dst", false, null, null, null, true));
            job.ready().get(30, TimeUnit.SECONDS);
            assertThat(job.query()).get().extracting(JobInfo::status).isEqualTo(JobStatus.READY);
            assertThat(monitor.block().queryBlockJobs()).extracting(BlockJobInfo::device).containsExactly("m1");
            job.cancelBlockJob();
            job.awaitConcluded(Duration.ofSeconds(30), null, "the test mirror");
            assertThat(job.dismiss()).isEmpty(); // no error
            assertThat(monitor.jobs().queryJobs()).isEmpty();
        }
        assertThat(seen).contains(JobStatus.CREATED, JobStatus.RUNNING, JobStatus.READY, JobStatus.CONCLUDED);
        BlockGraph.release(monitor, "dst", null);
        assertThat(BlockGraph.nodeNames(monitor)).doesNotContain("dst", "dst-file").contains("src");
    }

    @Test
    void failuresSayWhatQemuSaid() {
        assertThatThrownBy(() -> monitor.block().blockdevDel("no-such-node"))
                .isInstanceOf(MonitorException.class).isNotInstanceOf(MonitorClosedException.class)
                .satisfies(e -> assertThat(((MonitorException) e).errorClass()).isPresent())
                .hasMessageContaining("blockdev-del");
        assertThat(monitor.migration().queryMigrate().status()).isEqualTo(MigrationStatus.NONE);
        qemu.kill();
        monitor.closed().orTimeout(10, TimeUnit.SECONDS).join();
        assertThatThrownBy(() -> monitor.queryStatus()).isInstanceOf(MonitorClosedException.class);
        try (QemuJob job = QemuJob.completingWhenReady(monitor, "gone")) {
            assertThatThrownBy(() -> job.awaitConcluded(Duration.ofSeconds(5), null, "a job of a dead QEMU"))
                    .isInstanceOf(MonitorClosedException.class);
        }
    }

    @Test
    void schemaParsingCopesWithOldEnumForm() throws Exception {
        var schema = io.jvirt.qmp.QmpJson.mapper().readTree("""
                [{"name": "migrate-set-capabilities", "meta-type": "command", "arg-type": "1", "ret-type": "0"},
                 {"name": "1", "meta-type": "object", "members": [{"name": "capabilities", "type": "[2]"}]},
                 {"name": "[2]", "meta-type": "array", "element-type": "2"},
                 {"name": "2", "meta-type": "object", "members": [{"name": "capability", "type": "3"}, {"name": "state", "type": "bool"}]},
                 {"name": "3", "meta-type": "enum", "values": ["events", "xbzrle"]},
                 {"name": "STOP", "meta-type": "event", "arg-type": "0"}]""");
        QemuCapabilities c = QemuCapabilities.fromSchema("old", schema);
        assertThat(c.has(Feature.MIGRATION_EVENTS)).isTrue();
        assertThat(c.has(Feature.SNAPSHOT_SAVE)).isFalse();
        assertThat(c.hasEvent("STOP")).isTrue();
        assertThat(Files.exists(cacheDir)).isFalse(); // nothing asked this monitor yet
    }

    @Test
    void theStatsGroupReadsThisQemu() {
        // a machine without vCPUs under TCG: QEMU answers query-stats-schemas, with nothing from KVM
        assertThat(monitor.stats().queryStatsSchemas("kvm")).isEmpty();
        assertThat(monitor.stats().queryStats("vm", "kvm")).isEmpty();
        assertThat(monitor.stats().queryBlockstats()).isEmpty();
        assertThat(monitor.stats().queryIothreads()).isEmpty();
        assertThat(monitor.stats().queryCpusFast()).isEmpty();
        assertThat(monitor.stats().queryPci()).isEmpty();
        List<String> seen = new CopyOnWriteArrayList<>();
        Monitor.observeCommands((command, nanos, failed) -> seen.add(command + ":" + failed + ":" + (nanos > 0)));
        try {
            monitor.queryStatus();
        } finally {
            Monitor.observeCommands(null);
        }
        assertThat(seen).containsExactly("query-status:false:true");
    }
}
