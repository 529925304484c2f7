package io.jvirt.confine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Allowed directories changed at run time (the admin API's allow-dir): checked like at start, seen at once. */
class PathPolicyRuntimeTest {
    @TempDir
    Path tmp;

    @Test
    void anAddedDirectoryAllowsItsFilesAndARemovedOneNoLonger() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        PathPolicy policy = PathPolicy.builder().stateDir(state).build();
        Path dir = Files.createDirectories(tmp.resolve("kernels"));
        Path file = Files.writeString(dir.resolve("vmlinuz"), "k");
        assertThatThrownBy(() -> policy.checkFile("boot.kernel", file)).isInstanceOf(JvirtException.class)
                .hasMessageContaining("outside-pools");

        assertThat(policy.addAllowedDir(dir)).isEqualTo(dir.toRealPath());
        assertThat(policy.addAllowedDir(dir)).as("twice changes nothing").isEqualTo(dir.toRealPath());
        assertThat(policy.allowedDirs()).containsExactly(dir.toRealPath());
        assertThat(policy.checkFile("boot.kernel", file)).isEqualTo(file.toRealPath());

        assertThat(policy.removeAllowedDir(dir)).isTrue();
        assertThat(policy.removeAllowedDir(dir)).isFalse();
        assertThat(policy.allowedDirs()).isEmpty();
        assertThatThrownBy(() -> policy.checkFile("boot.kernel", file)).isInstanceOf(JvirtException.class);
    }

    @Test
    void systemAndStateDirectoriesAreRefusedAtRunTimeToo() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        PathPolicy policy = PathPolicy.builder().stateDir(state).build();
        assertThatThrownBy(() -> policy.addAllowedDir(Path.of("/etc"))).isInstanceOf(JvirtException.class)
                .satisfies(e -> assertThat(((JvirtException) e).code()).isEqualTo(ErrorCode.PATH_NOT_ALLOWED));
        assertThatThrownBy(() -> policy.addAllowedDir(state)).isInstanceOf(JvirtException.class)
                .hasMessageContaining("state-directory");
        assertThatThrownBy(() -> policy.addAllowedDir(tmp.resolve("missing"))).isInstanceOf(JvirtException.class);
        assertThat(policy.allowedDirs()).isEmpty();
    }

    @Test
    void concurrentChangesAndChecksNeverFailSpuriously() throws Exception {
        PathPolicy policy = PathPolicy.builder().stateDir(Files.createDirectories(tmp.resolve("state"))).build();
        Path keep = Files.createDirectories(tmp.resolve("keep"));
        Path file = Files.writeString(keep.resolve("disk.img"), "d");
        policy.addAllowedDir(keep);
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            dirs.add(Files.createDirectories(tmp.resolve("d" + i)));
        }
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (Path d : dirs) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    go.await();
                    for (int i = 0; i < 200; i++) {
                        policy.addAllowedDir(d);
                        policy.checkFile("disk", file); // the kept directory is allowed throughout
                        policy.removeAllowedDir(d);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failures).isEmpty();
        assertThat(policy.allowedDirs()).containsExactly(keep.toRealPath());
    }
}
