package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code --listen}: mutual TLS only; anything else is refused with what to write instead. */
class ApiConnectorsTest {
    static final Path DIR = Path.of("/etc/jvirt/tls");

    @Test
    void tlsAddressesAreParsed() {
        assertThat(ApiConnectors.TlsListen.parse("tls://127.0.0.1:16600", DIR))
                .isEqualTo(new ApiConnectors.TlsListen("127.0.0.1", 16600, DIR));
        assertThat(ApiConnectors.TlsListen.parse("tls://host1.example", DIR).port()).isEqualTo(16514);
        assertThat(ApiConnectors.TlsListen.parse("TLS://[::1]:0", DIR)).isEqualTo(new ApiConnectors.TlsListen("::1", 0, DIR));
    }

    @Test
    void plainTcpAndMalformedAddressesAreRefused() {
        assertThatThrownBy(() -> ApiConnectors.TlsListen.parse("127.0.0.1:8470", DIR))
                .hasMessageContaining("tls://ADDR[:PORT]").hasMessageContaining("no plain TCP");
        assertThatThrownBy(() -> ApiConnectors.TlsListen.parse("http://127.0.0.1:8470", DIR)).hasMessageContaining("no plain TCP");
        assertThatThrownBy(() -> ApiConnectors.TlsListen.parse("tls://:16514", DIR)).hasMessageContaining("needs an address");
        assertThatThrownBy(() -> ApiConnectors.TlsListen.parse("tls://h:99999", DIR)).hasMessageContaining("bad port");
        assertThatThrownBy(() -> ApiConnectors.TlsListen.parse("tls://[::1", DIR)).hasMessageContaining("IPv6");
    }

    @Test
    void bodiesThatAreBytesOnlyWhereBytesAreTaken() {
        assertThat(AccessGuard.takesBytes("/v1/images/uploads")).isTrue();
        assertThat(AccessGuard.takesBytes("/v1/vms/web/console")).isTrue();
        assertThat(AccessGuard.takesBytes("/v1/vms/web/start")).isFalse();
        assertThat(AccessGuard.takesBytes("/v1/images/import")).isFalse();
        assertThat(AccessGuard.revealsWhatUsersType("/v1/vms/web/console")).isTrue();
        assertThat(AccessGuard.revealsWhatUsersType("/v1/vms/web/guest/exec/42")).isTrue();
        assertThat(AccessGuard.revealsWhatUsersType("/v1/vms/web")).isFalse();
    }
}
