package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.tls.Identity;
import io.jvirt.tls.JettyTls;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may do what, decided before any route runs (docs/security.md):
 * <ul>
 *   <li>the caller's role: the read-only socket ({@link ApiConnectors#READ_ONLY}) and a read-only client
 *       certificate may only read (GET/HEAD), and not the reads that reveal what users type or secrets: 403;
 *   <li>browsers: an {@code Origin} that is not in the allow-list: 403; a state-changing request whose body is not
 *       JSON (except the octet-stream uploads and console input): 415; on TLS, a {@code Host} the server
 *       certificate does not name: 421 (DNS rebinding).
 * </ul>
 */
final class AccessGuard extends Handler.Wrapper {
    private static final Logger log = LoggerFactory.getLogger(AccessGuard.class);
    /** Set on a request whose caller may only read; routes that reveal a secret once leave it unrevealed. */
    static final String READ_ONLY_ATTRIBUTE = "io.jvirt.readOnly";

    private final ObjectMapper mapper;
    private final Set<String> allowedOrigins;
    /** Host names (lower case, no port) a TLS request may carry: the server certificate's names, the listen address. */
    private final Set<String> tlsHosts;

    AccessGuard(ObjectMapper mapper, Set<String> allowedOrigins, Set<String> tlsHosts, Handler next) {
        super(next);
        this.mapper = mapper;
        this.allowedOrigins = Set.copyOf(allowedOrigins);
        this.tlsHosts = Set.copyOf(tlsHosts);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        JvirtException refusal = check(request);
        if (refusal == null) {
            String origin = request.getHeaders().get(HttpHeader.ORIGIN);
            if (origin != null) { // allowed (check passed): a browser UI there may read the answers
                response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                response.getHeaders().put(HttpHeader.VARY, "Origin");
                if (request.getMethod().equals("OPTIONS")
                        && request.getHeaders().contains(HttpHeader.ACCESS_CONTROL_REQUEST_METHOD)) {
                    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PUT, DELETE");
                    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type");
                    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "600");
                    response.setStatus(204);
                    callback.succeeded();
                    return true;
                }
            }
            return super.handle(request, response, callback);
        }
        log.info("{} {} refused: {}", request.getMethod(), request.getHttpURI().getPath(), refusal.getMessage());
        try {
            new Exchange(request, response, callback, mapper, Map.of()).error(refusal);
        } catch (Exception e) {
            callback.failed(e);
        }
        return true;
    }

    private JvirtException check(Request request) {
        String connector = request.getConnectionMetaData().getConnector().getName();
        String method = request.getMethod();
        String path = request.getHttpURI().getPath();
        boolean tls = ApiConnectors.TLS.equals(connector);

        String origin = request.getHeaders().get(HttpHeader.ORIGIN);
        if (origin != null && !allowedOrigins.contains(origin)) {
            return new JvirtException(ErrorCode.FORBIDDEN, "requests from web pages are refused: Origin '" + origin
                    + "' is not allowed (jvirtd --allow-origin)", Map.of("rule", "origin", "origin", origin));
        }
        if (tls) {
            String host = hostOnly(request.getHttpURI().getHost());
            if (host == null || !tlsHosts.contains(host)) {
                return new JvirtException(ErrorCode.MISDIRECTED, "Host '" + request.getHeaders().get(HttpHeader.HOST)
                        + "' is not a name of this server's certificate " + tlsHosts, Map.of("rule", "host"));
            }
        }

        boolean readOnly = ApiConnectors.READ_ONLY.equals(connector);
        String who = readOnly ? "the read-only socket" : null;
        if (tls) {
            Optional<Identity> id = JettyTls.identity(request);
            if (id.isEmpty() || id.get().role() == null) { // the handshake refuses these; never guess a role
                return new JvirtException(ErrorCode.FORBIDDEN, "no verified client certificate with a jvirt role",
                        Map.of("rule", "role"));
            }
            if (log.isDebugEnabled()) {
                log.debug("{} {} by {}", method, path, id.get().describe());
            }
            if (!id.get().role().mayModify()) {
                readOnly = true;
                who = "the read-only certificate of " + id.get().name();
            }
        }
        boolean reads = method.equals("GET") || method.equals("HEAD");
        if (readOnly) {
            request.setAttribute(READ_ONLY_ATTRIBUTE, Boolean.TRUE);
            if (!reads) {
                return new JvirtException(ErrorCode.FORBIDDEN, method + " " + path + " changes something: "
                        + who + " may only read", Map.of("rule", "read-only"));
            }
            if (revealsWhatUsersType(path)) {
                return new JvirtException(ErrorCode.FORBIDDEN, "console output and guest command output may hold "
                        + "passwords: " + who + " may not read them", Map.of("rule", "read-only"));
            }
        }
        if (!reads && !method.equals("OPTIONS")) {
            JvirtException e = checkContentType(request, method, path);
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    /** Console output (what users type, passwords included) and the output of commands run in a guest. */
    static boolean revealsWhatUsersType(String path) {
        return path.endsWith("/console") || path.matches("/v1/vms/[^/]+/guest/exec/[^/]+");
    }

    /**
     * A change carries JSON, or nothing at all (no body, no Content-Type); {@code application/octet-stream} only
     * where bytes are the point. Browsers send {@code text/plain}, form and multipart bodies cross-origin without
     * asking first; JSON needs a CORS preflight, which jvirtd never grants.
     */
    private static JvirtException checkContentType(Request request, String method, String path) {
        String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        long length = request.getLength();
        if (type == null) {
            if (length <= 0 && !request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
                return null;
            }
            return unsupported(method, path, "none");
        }
        String mime = type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (mime.equals("application/json")) {
            return null;
        }
        if (mime.equals("application/octet-stream") && method.equals("POST") && takesBytes(path)) {
            return null;
        }
        return unsupported(method, path, mime);
    }

    static boolean takesBytes(String path) {
        return path.equals("/v1/images/uploads") || path.matches("/v1/vms/[^/]+/console");
    }

    private static JvirtException unsupported(String method, String path, String mime) {
        return new JvirtException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, method + " " + path + " takes application/json"
                + (takesBytes(path) ? " or application/octet-stream" : "") + ", not " + mime,
                Map.of("rule", "content-type"));
    }

    private static String hostOnly(String host) {
        if (host == null || host.isEmpty()) {
            return null;
        }
        String h = host;
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return ApiConnectors.normal(h);
    }
}
