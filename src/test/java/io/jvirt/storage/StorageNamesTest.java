package io.jvirt.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.JvirtException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StorageNamesTest {
    private final Pool pool = new Pool("default", Path.of("/var/lib/jvirt/pools/default"));

    @ParameterizedTest
    @ValueSource(strings = {"../x", "a/b", "..", ".", "-x", " x", "x\ny", "x\u0000", "/etc/passwd", "a..b", ".hidden", ""})
    void namesThatCouldEscapeOrConfuseAreRefused(String name) {
        assertThatThrownBy(() -> StorageNames.volumeFile(pool, name))
                .isInstanceOf(JvirtException.class)
                .satisfies(e -> assertThat(((JvirtException) e).code().code()).isEqualTo("invalid-volume"));
    }

    @Test
    void nullNameIsRefused() {
        assertThatThrownBy(() -> StorageNames.volumeFile(pool, null)).isInstanceOf(JvirtException.class)
                .hasMessageContaining("required");
    }

    @ParameterizedTest
    @ValueSource(strings = {"disk.qcow2", "a", "web-01_root.raw", "A1"})
    void ordinaryNamesResolveDirectlyInsideThePool(String name) {
        assertThat(StorageNames.volumeFile(pool, name)).isEqualTo(pool.path().resolve(name));
    }

    @Test
    void sizesReadBinaryUnits() {
        assertThat(Sizes.parse("64M")).isEqualTo(64L << 20);
        assertThat(Sizes.parse("1G")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("4096")).isEqualTo(4096);
        assertThatThrownBy(() -> Sizes.parse("-1")).isInstanceOf(JvirtException.class);
        assertThatThrownBy(() -> Sizes.parse("0")).isInstanceOf(JvirtException.class);
        assertThatThrownBy(() -> Sizes.parse("12X")).isInstanceOf(JvirtException.class);
    }
}
