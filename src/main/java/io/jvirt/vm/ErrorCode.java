package io.jvirt.vm;

/** Stable error codes of the jvirt API (docs/api.md lists them with their HTTP status). */
public enum ErrorCode {
    INVALID_ARGUMENT("invalid-argument"),
    INVALID_DEFINITION("invalid-definition"),
    INVALID_NAME("invalid-name"),
    VM_NOT_FOUND("vm-not-found"),
    OPERATION_NOT_FOUND("operation-not-found"),
    NOT_FOUND("not-found"),
    VM_EXISTS("vm-exists"),
    INVALID_STATE("invalid-state"),
    VM_BUSY("vm-busy"),
    DISK_NOT_FOUND("disk-not-found"),
    SNAPSHOT_NOT_FOUND("snapshot-not-found"),
    SNAPSHOT_EXISTS("snapshot-exists"),
    QEMU_FAILED("qemu-failed"),
    TIMEOUT("timeout"),
    CANCELLED("cancelled"),
    METHOD_NOT_ALLOWED("method-not-allowed"),
    IMAGE_NOT_FOUND("image-not-found"),
    BAD_SIGNATURE("bad-signature"),
    BAD_INDEX("bad-index"),
    BAD_BUNDLE("bad-bundle"),
    CHECKSUM_MISMATCH("checksum-mismatch"),
    SOURCE_UNREACHABLE("source-unreachable"),
    VOLUME_EXISTS("volume-exists"),
    IMAGE_TOOL_FAILED("image-tool-failed"),
    POOL_NOT_FOUND("pool-not-found"),
    POOL_EXISTS("pool-exists"),
    VOLUME_NOT_FOUND("volume-not-found"),
    VOLUME_IN_USE("volume-in-use"),
    INVALID_VOLUME("invalid-volume"),
    NO_BLOCK_JOB("no-block-job"),
    DESTINATION_EXISTS("destination-exists"),
    /** The guest is held paused: QEMU switched a disk and the definition could not name it yet. */
    GUEST_HELD("guest-held"),
    /** QEMU switched a disk but the durable definition write failed (the guest is held paused). */
    DEFINITION_NOT_WRITTEN("definition-not-written"),
    INTERNAL("internal");

    private final String code;

    ErrorCode(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}
