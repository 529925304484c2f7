package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A failure reported by jvirtd: either a non-2xx answer with the API's error body
 * {@code {"error":{"code","message","details"}}}, or a finished operation whose {@code error} is set.
 */
public final class ApiException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;
    private final transient JsonNode details;

    /**
     * @param status  HTTP status, or -1 when the error came from an operation object
     * @param code    the API error code (e.g. {@code vm-not-found}); never null ({@code "unknown"} if absent)
     * @param message the human-readable message
     * @param details the optional details object, or null
     */
    public ApiException(int status, String code, String message, JsonNode details) {
        super(message);
        this.status = status;
        this.code = code == null || code.isEmpty() ? "unknown" : code;
        this.details = details;
    }

    public int status() { return status; }

    public String code() { return code; }

    /** The details object, or null. */
    public JsonNode details() { return details; }

    /** Builds an exception from an API error object {@code {"code","message","details"}} (may be null/malformed). */
    public static ApiException fromError(int status, JsonNode error) {
        if (error == null || !error.isObject()) {
            return new ApiException(status, null, status > 0 ? "HTTP " + status : "unknown error", null);
        }
        String code = error.path("code").asText(null);
        String message = error.path("message").asText(null);
        if (message == null || message.isEmpty()) {
            message = code != null ? code : "HTTP " + status;
        }
        JsonNode details = error.get("details");
        if (details != null && details.isNull()) details = null;
        return new ApiException(status, code, message, details);
    }
}
