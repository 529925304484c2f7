package io.jvirt.api;

import io.jvirt.qemu.SerialConsole;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The serial console over HTTP: output so far, live output (chunked), and typed input. */
record ConsoleRoutes(VmManager vms) {

    void register(Router r) {
        r.add("GET", "/v1/vms/{name}/console", this::read);
        r.add("POST", "/v1/vms/{name}/console", ex -> {
            String name = ex.param("name");
            SerialConsole console = vms.console(name).orElseThrow(() -> VmRoutes.notRunning(name));
            console.write(ex.body());
            ex.noContent();
        });
    }

    private void read(Exchange ex) throws IOException, InterruptedException {
        String name = ex.param("name");
        boolean follow = ex.queryBool("follow");
        Optional<SerialConsole> live = vms.console(name);
        if (live.isEmpty()) {
            // Not running: what the last run printed, if anything.
            Path log = vms.consoleLog(name);
            byte[] history = Files.exists(log) ? Files.readAllBytes(log) : new byte[0];
            try (OutputStream out = ex.stream("text/plain; charset=utf-8")) {
                out.write(history);
            }
            ex.finish();
            return;
        }
        if (!follow) {
            try (OutputStream out = ex.stream("text/plain; charset=utf-8")) {
                out.write(live.get().history());
            }
            ex.finish();
            return;
        }
        try (SerialConsole.Subscription sub = live.get().subscribe(); OutputStream out = ex.stream("text/plain; charset=utf-8")) {
            out.write(sub.history());
            out.flush();
            while (true) {
                byte[] chunk = sub.next(15, TimeUnit.SECONDS);
                if (chunk == null) {
                    continue;
                }
                if (chunk.length == 0) {
                    break; // the console closed: the VM stopped
                }
                out.write(chunk);
                // The guest prints a few bytes at a time; send what has queued up since as one HTTP chunk.
                for (byte[] more; (more = sub.next(0, TimeUnit.MILLISECONDS)) != null && more.length > 0; ) {
                    out.write(more);
                }
                out.flush();
            }
        } catch (IOException e) {
            // the viewer hung up
        }
        ex.finish();
    }
}
