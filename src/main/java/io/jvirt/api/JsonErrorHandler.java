package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty raises itself, before a route runs (a malformed request line, an ambiguous or illegal URI), get the
 * same JSON error body as every other error, so clients never have to parse Jetty's HTML page.
 */
final class JsonErrorHandler extends ErrorHandler {
    private final ObjectMapper mapper;

    JsonErrorHandler(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        int status = response.getStatus() > 0 ? response.getStatus() : 500;
        Object message = request.getAttribute(ERROR_MESSAGE);
        Object cause = request.getAttribute(ERROR_EXCEPTION);
        String text = message != null ? message.toString()
                : cause instanceof Throwable t && t.getMessage() != null ? t.getMessage() : "HTTP " + status;
        String code = status == 400 ? "bad-request" : status == 404 ? "not-found" : status == 405
                ? "method-not-allowed" : status >= 500 ? "internal" : "http-" + status;
        byte[] body = mapper.writeValueAsBytes(new ApiErrors.Envelope(
                new ApiErrors.ErrorBody(code, "the request was refused: " + text, null)));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }
}
