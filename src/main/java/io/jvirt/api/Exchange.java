package io.jvirt.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/** One HTTP request and its response, with the helpers routes need. Handlers run on virtual threads and may block. */
final class Exchange {
    private static final long MAX_BODY = 1 << 20;

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final ObjectMapper mapper;
    private final Map<String, String> pathParams;
    private Fields query;
    private boolean committed;

    Exchange(Request request, Response response, Callback callback, ObjectMapper mapper, Map<String, String> pathParams) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.mapper = mapper;
        this.pathParams = pathParams;
    }

    /** The caller may only read (the read-only socket, a read-only certificate): see {@link AccessGuard}. */
    boolean readOnlyCaller() {
        return Boolean.TRUE.equals(request.getAttribute(AccessGuard.READ_ONLY_ATTRIBUTE));
    }

    String param(String name) {
        return pathParams.get(name);
    }

    Optional<String> query(String name) {
        if (query == null) {
            query = Request.extractQueryParameters(request);
        }
        return Optional.ofNullable(query.getValue(name));
    }

    boolean queryBool(String name) {
        return query(name).map(v -> switch (v) {
            case "", "1", "true", "yes" -> true;
            case "0", "false", "no" -> false;
            default -> throw ApiErrors.badArgument("query parameter '" + name + "' must be true or false, got '" + v + "'");
        }).orElse(false);
    }

    /** A duration given in (possibly fractional) seconds, bounded to a day. */
    Duration querySeconds(String name, Duration fallback) {
        return query(name).map(v -> {
            try {
                double s = Double.parseDouble(v);
                if (s < 0 || s > 86400 || Double.isNaN(s)) {
                    throw new NumberFormatException();
                }
                return Duration.ofMillis((long) (s * 1000));
            } catch (NumberFormatException e) {
                throw ApiErrors.badArgument("query parameter '" + name + "' must be a number of seconds between 0 and 86400, got '" + v + "'");
            }
        }).orElse(fallback);
    }

    byte[] body() throws IOException {
        if (request.getLength() > MAX_BODY) {
            throw ApiErrors.badArgument("request body larger than " + MAX_BODY + " bytes");
        }
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] b = in.readNBytes((int) MAX_BODY + 1);
            if (b.length > MAX_BODY) {
                throw ApiErrors.badArgument("request body larger than " + MAX_BODY + " bytes");
            }
            return b;
        } catch (IOException | org.eclipse.jetty.http.BadMessageException e) {
            // the client declared more than it sent, or sent a malformed chunk: its fault, not ours
            throw ApiErrors.badArgument("the request body ended early or is malformed: " + e.getMessage());
        }
    }

    /** The raw request body as a stream, for bodies streamed to disk rather than held in memory. */
    InputStream bodyStream() {
        return Content.Source.asInputStream(request);
    }

    /** The body's declared Content-Length, or -1 (chunked). */
    long declaredLength() {
        return request.getLength();
    }

    /** Reads a JSON body strictly: unknown fields, duplicate keys and wrong types are refused with their names. */
    <T> T bodyAs(Class<T> type, ErrorCode invalidCode) throws IOException {
        byte[] b = body();
        if (b.length == 0) {
            throw new JvirtException(invalidCode, "the request body is empty; a JSON object is expected");
        }
        try {
            return mapper.readValue(b, type);
        } catch (UnrecognizedPropertyException e) {
            throw new JvirtException(invalidCode, "unknown field '" + e.getPropertyName() + "'" + at(e),
                    Map.of("field", e.getPropertyName()));
        } catch (InvalidFormatException e) {
            throw new JvirtException(invalidCode, "wrong value " + e.getValue() + " for field " + fieldPath(e) + ": expected "
                    + e.getTargetType().getSimpleName(), Map.of("field", fieldPath(e)));
        } catch (MismatchedInputException e) {
            String field = fieldPath(e);
            throw new JvirtException(invalidCode, field.isEmpty() ? "the body must be a JSON object"
                    : "wrong type for field " + field + ": expected " + e.getTargetType().getSimpleName(), Map.of("field", field));
        } catch (JsonProcessingException e) {
            throw new JvirtException(invalidCode, "malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static String at(MismatchedInputException e) {
        String path = fieldPath(e);
        return path.contains(".") || path.contains("[") ? " (at " + path + ")" : "";
    }

    private static String fieldPath(MismatchedInputException e) {
        return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }

    void json(int status, Object body) throws IOException {
        byte[] bytes = mapper.writeValueAsBytes(body);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        committed = true;
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /** A body that is not JSON (e.g. the Prometheus text format). */
    void raw(int status, String contentType, byte[] bytes) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        committed = true;
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    void error(JvirtException e) throws IOException {
        json(e.code().httpStatus(), new ApiErrors.Envelope(ApiErrors.body(e)));
    }

    void noContent() {
        response.setStatus(204);
        committed = true;
        response.write(true, null, callback);
    }

    /** Starts a streamed answer (chunked). The caller writes, then calls {@link #finish()}; no idle timeout applies. */
    OutputStream stream(String contentType) {
        request.getConnectionMetaData().getConnection().getEndPoint().setIdleTimeout(0);
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        committed = true;
        return Content.Sink.asOutputStream(response);
    }

    /** Adds a response header; before {@link #json}, {@link #stream} or {@link #noContent}. */
    void header(String name, String value) {
        response.getHeaders().put(name, value);
    }

    /**
     * Whether the client has hung up, for a stream that has nothing to write for a while (a write would tell, but
     * a quiet console has none). A non-blocking read of the connection: end of file means gone. A client sends
     * nothing while it reads a stream, so a byte it did send is dropped and the stream ended too.
     */
    boolean clientGone() {
        org.eclipse.jetty.io.EndPoint ep = request.getConnectionMetaData().getConnection().getEndPoint();
        if (!ep.isOpen()) {
            return true;
        }
        try {
            return ep.fill(org.eclipse.jetty.util.BufferUtil.allocate(1)) != 0; // Jetty buffers fill after their limit
        } catch (IOException e) {
            return true;
        }
    }

    void finish() {
        callback.succeeded();
    }

    void fail(Throwable t) {
        callback.failed(t);
    }

    boolean committed() {
        return committed;
    }
}
