package io.jvirt.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import org.junit.jupiter.api.Test;

class SizesTest {
    @Test
    void formatsBytesForMessages() {
        assertThat(Sizes.human(512)).isEqualTo("512 B");
        assertThat(Sizes.human(1536)).isEqualTo("1.5 KiB");
        assertThat(Sizes.human(1L << 30)).isEqualTo("1.0 GiB");
        assertThat(Sizes.human(5L << 40)).isEqualTo("5.0 TiB");
    }

    @Test
    void theCallerChoosesTheErrorCode() {
        assertThat(Sizes.parse("8G", ErrorCode.INVALID_ARGUMENT)).isEqualTo(8L << 30);
        assertThatThrownBy(() -> Sizes.parse("8X", ErrorCode.INVALID_ARGUMENT)).isInstanceOf(JvirtException.class)
                .extracting(e -> ((JvirtException) e).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        assertThatThrownBy(() -> Sizes.parse("8X")).extracting(e -> ((JvirtException) e).code())
                .isEqualTo(ErrorCode.INVALID_VOLUME);
    }
}
