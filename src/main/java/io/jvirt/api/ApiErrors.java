package io.jvirt.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.jvirt.vm.ErrorCode;
import io.jvirt.vm.JvirtException;
import java.util.Map;

/** Maps failures to HTTP statuses and the stable JSON error body. */
final class ApiErrors {
    private ApiErrors() {
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    record ErrorBody(String code, String message, Map<String, Object> details) {
    }

    record Envelope(ErrorBody error) {
    }

    static int status(ErrorCode code) {
        return switch (code) {
            case INVALID_ARGUMENT, INVALID_DEFINITION, INVALID_NAME, DISK_NOT_FOUND -> 400;
            case VM_NOT_FOUND, OPERATION_NOT_FOUND, NOT_FOUND, SNAPSHOT_NOT_FOUND -> 404;
            case METHOD_NOT_ALLOWED -> 405;
            case VM_EXISTS, INVALID_STATE, VM_BUSY, CANCELLED, SNAPSHOT_EXISTS -> 409;
            case INVALID_VOLUME -> 400;
            case POOL_NOT_FOUND, VOLUME_NOT_FOUND, NO_BLOCK_JOB -> 404;
            case DESTINATION_EXISTS, GUEST_HELD -> 409;
            case DEFINITION_NOT_WRITTEN -> 500;
            case POOL_EXISTS, VOLUME_EXISTS, VOLUME_IN_USE -> 409;
            case TIMEOUT -> 504;
            case IMAGE_NOT_FOUND -> 404;
            case BAD_SIGNATURE, BAD_INDEX, CHECKSUM_MISMATCH, SOURCE_UNREACHABLE -> 502;
            case BAD_BUNDLE -> 400;
            case IMAGE_TOOL_FAILED -> 500;
            case QEMU_FAILED, INTERNAL -> 500;
        };
    }

    static ErrorBody body(JvirtException e) {
        return new ErrorBody(e.code().code(), e.getMessage(), e.details());
    }

    static JvirtException badArgument(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
