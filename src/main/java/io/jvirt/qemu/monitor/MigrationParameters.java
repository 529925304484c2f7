package io.jvirt.qemu.monitor;

/**
 * Arguments of {@code migrate-set-parameters}; a null field is left as it is. Add a field when a feature needs one.
 *
 * @param maxBandwidth  bytes per second
 * @param downtimeLimit milliseconds the final stop-and-copy may take
 * @param tlsCreds      id of a {@code tls-creds-x509} object: the migration stream is TLS (empty string: plain)
 * @param tlsHostname   the name the destination's certificate must carry (source side; default: the URI's host)
 */
public record MigrationParameters(Long maxBandwidth, Long downtimeLimit, String tlsCreds, String tlsHostname) {

    public MigrationParameters(Long maxBandwidth) {
        this(maxBandwidth, null, null, null);
    }
}
