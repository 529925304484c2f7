package io.jvirt.error;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The failing kinds of fault point (halting and killing are what the crash tests exercise, in a real daemon). */
class FaultTest {
    @AfterEach
    void clear() {
        System.clearProperty("jvirt.fault");
    }

    @Test
    void failsOnlyTheStepNamed() {
        System.setProperty("jvirt.fault", "snapshot:fail-after-freeze");
        assertThatThrownBy(() -> Fault.point("snapshot", "after-freeze")).isInstanceOf(JvirtException.class)
                .hasMessageContaining("snapshot:after-freeze");
        assertThatCode(() -> Fault.point("snapshot", "after-intent")).doesNotThrowAnyException();
        assertThatCode(() -> Fault.point("blockcopy", "after-freeze")).doesNotThrowAnyException();
    }

    @Test
    void failsWhileTheFlagFileExists(@TempDir Path dir) throws Exception {
        Path flag = dir.resolve("flag");
        System.setProperty("jvirt.fault", "vm:fail-definition-write:" + flag);
        assertThatCode(() -> Fault.point("vm", "definition-write")).doesNotThrowAnyException();
        Files.createFile(flag);
        assertThatThrownBy(() -> Fault.point("vm", "definition-write")).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("No space left on device");
        Files.delete(flag);
        assertThatCode(() -> Fault.point("vm", "definition-write")).doesNotThrowAnyException();
    }

    @Test
    void aQemuFaultWithoutQemuDoesNothing() {
        System.setProperty("jvirt.fault", "blockcopy:qemu-ready");
        assertThatCode(() -> Fault.point("blockcopy", "ready", -1)).doesNotThrowAnyException();
    }
}
