package io.jvirt.qemu.monitor;

/** Reply of {@code query-migrate}; {@code errorDesc} says why a failed migration failed. */
public record MigrationInfo(MigrationStatus status, String errorDesc) {

    public MigrationInfo {
        status = status == null ? MigrationStatus.NONE : status;
    }
}
