package io.jvirt.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
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

    static ErrorBody body(JvirtException e) {
        return new ErrorBody(e.code().code(), e.getMessage(), e.details());
    }

    static JvirtException badArgument(String message) {
        return new JvirtException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
