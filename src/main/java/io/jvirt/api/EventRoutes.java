package io.jvirt.api;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** GET /v1/events: the daemon's events as a Server-Sent Events stream. */
record EventRoutes(EventHub hub) {

    void register(Router r) {
        r.add("GET", "/v1/events", this::stream);
    }

    private void stream(Exchange ex) throws InterruptedException {
        Optional<String> vm = ex.query("vm");
        try (EventHub.Subscriber sub = hub.subscribe(f -> vm.isEmpty() || vm.get().equals(f.vm()));
             OutputStream out = ex.stream("text/event-stream")) {
            out.write(": jvirtd events\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (true) {
                EventHub.Frame f = sub.next(15, TimeUnit.SECONDS);
                String text = f == null ? ": keep-alive\n\n" : "event: " + f.type() + "\ndata: " + f.json() + "\n\n";
                out.write(text.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException | IllegalStateException e) {
            // the client hung up, or fell too far behind
        }
        ex.finish();
    }
}
