package io.jvirt.tls;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where jvirt's TLS files live. One layout, written by {@code jvirt pki} and read by {@code jvirtd --tls-dir DIR}
 * and by the CLI ({@code JVIRT_TLS_DIR}, default {@code ~/.config/jvirt/tls}):
 *
 * <pre>
 * DIR/ca.pem                 CA certificate (0644)          everyone: the only trust anchor
 * DIR/ca-key.pem             CA private key (0600)          only where certificates are issued
 * DIR/server.pem             host certificate (0644)        jvirtd: its listener, and its client side to peers
 * DIR/server-key.pem         host private key (0600)
 * DIR/clients/NAME.pem       client certificate (0644)      as issued
 * DIR/clients/NAME-key.pem   client private key (0600)
 * DIR/client.pem             the CLI's own certificate      in a client's directory
 * DIR/client-key.pem         the CLI's own key (0600)
 * DIR/revoked                SHA-256 fingerprints refused by jvirtd, one per line (optional)
 * DIR/qemu/                  QEMU's tls-creds-x509 names, symbolic links into DIR (see {@link #qemuLinks})
 * </pre>
 */
public record TlsDir(Path dir) {
    public static final String ENV = "JVIRT_TLS_DIR";

    /** The CLI's directory: {@code $JVIRT_TLS_DIR}, else {@code ~/.config/jvirt/tls}. */
    public static TlsDir forClient() {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return new TlsDir(Path.of(env));
        }
        return new TlsDir(Path.of(System.getProperty("user.home"), ".config", "jvirt", "tls"));
    }

    public Path caCert() {
        return dir.resolve("ca.pem");
    }

    public Path caKey() {
        return dir.resolve("ca-key.pem");
    }

    public Path serverCert() {
        return dir.resolve("server.pem");
    }

    public Path serverKey() {
        return dir.resolve("server-key.pem");
    }

    public Path clientsDir() {
        return dir.resolve("clients");
    }

    public Path issuedCert(String name) {
        return clientsDir().resolve(name + ".pem");
    }

    public Path issuedKey(String name) {
        return clientsDir().resolve(name + "-key.pem");
    }

    public Path clientCert() {
        return dir.resolve("client.pem");
    }

    public Path clientKey() {
        return dir.resolve("client-key.pem");
    }

    public Path revoked() {
        return dir.resolve("revoked");
    }

    /** The directory to give QEMU's {@code -object tls-creds-x509,dir=...}. */
    public Path qemuDir() {
        return dir.resolve("qemu");
    }

    /**
     * QEMU's file names (docs/system/tls.rst) and what they link to, relative to {@link #qemuDir()}. The host
     * certificate carries both serverAuth and clientAuth, so it is QEMU's server identity (incoming migration, NBD
     * export) and its client identity (outgoing migration) alike, as QEMU's docs suggest for migration hosts.
     */
    public static Map<String, String> qemuLinks() {
        return Map.of(
                "ca-cert.pem", "../ca.pem",
                "server-cert.pem", "../server.pem",
                "server-key.pem", "../server-key.pem",
                "client-cert.pem", "../server.pem",
                "client-key.pem", "../server-key.pem");
    }
}
