package io.jvirt.error;

import java.util.Map;

/** A failure a caller should see: a stable code, a message for people, optional details for scripts. */
public class JvirtException extends RuntimeException {
    private final ErrorCode code;
    private final Map<String, Object> details;

    public JvirtException(ErrorCode code, String message) {
        this(code, message, Map.of(), null);
    }

    public JvirtException(ErrorCode code, String message, Map<String, Object> details) {
        this(code, message, details, null);
    }

    public JvirtException(ErrorCode code, String message, Map<String, Object> details, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.details = Map.copyOf(details);
    }

    public ErrorCode code() {
        return code;
    }

    public Map<String, Object> details() {
        return details;
    }
}
