package io.jvirt.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Method + path-template routing ("/v1/vms/{name}/start") onto blocking handlers, with uniform error answers. */
final class Router extends Handler.Abstract {
    private static final Logger log = LoggerFactory.getLogger(Router.class);

    @FunctionalInterface
    interface Route {
        void handle(Exchange ex) throws Exception;
    }

    private record Entry(String method, String template, String[] segments, Route route) {
    }

    /** Told of every request once it is answered: method, route template (or "unmatched"), status, duration. */
    @FunctionalInterface
    interface RequestObserver {
        void answered(String method, String route, int status, long nanos);
    }

    private final List<Entry> entries = new ArrayList<>();
    private final ObjectMapper mapper;
    private volatile RequestObserver observer;

    Router(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    Router add(String method, String template, Route route) {
        entries.add(new Entry(method, template, split(template), route));
        return this;
    }

    void observe(RequestObserver o) {
        this.observer = o;
    }

    @Override
    public boolean handle(Request request, Response response, Callback original) {
        String path = request.getHttpURI().getDecodedPath();
        log.debug("{} {}", request.getMethod(), path);
        String[] route = {"unmatched"};
        Callback callback = timed(request, response, original, route);
        String[] segs = split(path);
        boolean pathMatched = false;
        Exchange ex = null;
        try {
            for (Entry e : entries) {
                Map<String, String> params = match(e.segments, segs);
                if (params == null) {
                    continue;
                }
                pathMatched = true;
                if (!e.method.equals(request.getMethod())) {
                    continue;
                }
                route[0] = e.template;
                ex = new Exchange(request, response, callback, mapper, params);
                e.route.handle(ex);
                return true;
            }
            ex = new Exchange(request, response, callback, mapper, Map.of());
            ex.error(pathMatched
                    ? new JvirtException(ErrorCode.METHOD_NOT_ALLOWED, request.getMethod() + " is not allowed on " + path)
                    : new JvirtException(ErrorCode.NOT_FOUND, "no endpoint " + path));
        } catch (JvirtException e) {
            answer(ex, request, response, callback, e);
        } catch (Exception e) {
            log.error("{} {} failed", request.getMethod(), path, e);
            answer(ex, request, response, callback, new JvirtException(ErrorCode.INTERNAL, "internal error: " + e));
        }
        return true;
    }

    /** The callback, telling the observer (metrics) how the request went once it is answered. */
    private Callback timed(Request request, Response response, Callback callback, String[] route) {
        RequestObserver o = observer;
        if (o == null) {
            return callback;
        }
        long t0 = System.nanoTime();
        return Callback.from(callback, () -> o.answered(request.getMethod(), route[0], response.getStatus(),
                System.nanoTime() - t0));
    }

    private void answer(Exchange ex, Request request, Response response, Callback callback, JvirtException e) {
        Exchange target = ex != null ? ex : new Exchange(request, response, callback, mapper, Map.of());
        if (target.committed()) {
            target.fail(e);
            return;
        }
        try {
            target.error(e);
        } catch (Exception io) {
            callback.failed(io);
        }
    }

    private static Map<String, String> match(String[] template, String[] path) {
        if (template.length != path.length) {
            return null;
        }
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                params.put(t.substring(1, t.length() - 1), path[i]);
            } else if (!t.equals(path[i])) {
                return null;
            }
        }
        return params;
    }

    private static String[] split(String path) {
        String p = path == null ? "" : path;
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.isEmpty() ? new String[0] : p.split("/", -1);
    }
}
