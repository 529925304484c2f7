package io.jvirt.qemu.monitor;

/**
 * Arguments of {@code migrate-set-parameters}; a null field is left as it is. Add a field when a feature needs one.
 *
 * @param maxBandwidth bytes per second
 */
public record MigrationParameters(Long maxBandwidth) {
}
