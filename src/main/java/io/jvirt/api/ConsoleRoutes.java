package io.jvirt.api;

import io.jvirt.qemu.ConsoleLog;
import io.jvirt.qemu.ConsolePolicy;
import io.jvirt.qemu.SerialConsole;
import io.jvirt.vm.VmManager;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The serial console over HTTP: a range of the log (all of it, its tail, or offset and length), live output
 * (chunked), and typed input. Everything is streamed through a small buffer: nothing holds the log in memory.
 */
final class ConsoleRoutes {
    private static final int BUFFER = 16 << 10;
    private final VmManager vms;

    ConsoleRoutes(VmManager vms) {
        this.vms = vms;
    }

    void register(Router r) {
        r.add("GET", "/v1/vms/{name}/console", this::read);
        r.add("POST", "/v1/vms/{name}/console", ex -> {
            String name = ex.param("name");
            SerialConsole console = vms.console(name).orElseThrow(() -> VmRoutes.notRunning(name));
            console.write(ex.body());
            ex.noContent();
        });
    }

    /** Which bytes of the log a read wants: [offset, offset+length) or the last {@code tail} bytes. */
    private record Range(OptionalLong offset, OptionalLong length, OptionalLong tail) {
        static Range of(Exchange ex, boolean follow) {
            Range r = new Range(bytes(ex, "offset"), bytes(ex, "length"), bytes(ex, "tail"));
            if (r.tail.isPresent() && (r.offset.isPresent() || r.length.isPresent())) {
                throw ApiErrors.badArgument("give tail, or offset and length, not both");
            }
            if (follow && r.length.isPresent()) {
                throw ApiErrors.badArgument("length does not apply with follow=true (the stream has no end)");
            }
            return r;
        }

        long start(long end) {
            if (tail.isPresent()) {
                return Math.max(0, end - tail.getAsLong());
            }
            return offset.orElse(0);
        }

        /** How many bytes of a tail lie before the file's start, in console.log.1 (0 for offset reads). */
        long before(long end) {
            return tail.isPresent() ? Math.max(0, tail.getAsLong() - end) : 0;
        }

        long end(long end) {
            return length.isPresent() ? Math.min(end, start(end) + length.getAsLong()) : end;
        }

        private static OptionalLong bytes(Exchange ex, String name) {
            Optional<String> v = ex.query(name);
            if (v.isEmpty()) {
                return OptionalLong.empty();
            }
            try {
                long n = Long.parseLong(v.get());
                if (n < 0) {
                    throw new NumberFormatException();
                }
                return OptionalLong.of(n);
            } catch (NumberFormatException e) {
                throw ApiErrors.badArgument("query parameter '" + name + "' must be a number of bytes >= 0, got '" + v.get() + "'");
            }
        }
    }

    private void read(Exchange ex) throws IOException, InterruptedException {
        String name = ex.param("name");
        boolean follow = ex.queryBool("follow");
        Range range = Range.of(ex, follow);
        Optional<SerialConsole> live = vms.console(name);
        if (live.isEmpty() || !follow) {
            // not running: what the last run printed, if anything
            ConsoleLog log = live.isEmpty() ? ConsoleLog.open(vms.consoleLog(name), ConsolePolicy.global()::logBytes) : null;
            ConsoleLog.Mark mark = log != null ? log.mark() : live.get().mark();
            ConsoleLog.Mark upTo = new ConsoleLog.Mark(mark.generation(), range.end(mark.end()));
            try (ConsoleLog.Reader history = log != null ? log.read(upTo, range.start(mark.end()), range.before(mark.end()))
                    : live.get().history(upTo, range.start(mark.end()), range.before(mark.end()))) {
                describe(ex, history.position(), upTo.end());
                try (OutputStream out = ex.stream("text/plain; charset=utf-8")) {
                    copy(history, out);
                }
            } catch (IOException e) {
                // the viewer hung up
            }
            ex.finish();
            return;
        }
        try (SerialConsole.Follow f = live.get().follow()) {
            ConsoleLog.Mark mark = f.historyEnd();
            try (ConsoleLog.Reader history = live.get().history(mark, range.start(mark.end()), range.before(mark.end()))) {
                describe(ex, history.position(), mark.end());
                OutputStream out = ex.stream("text/plain; charset=utf-8");
                copy(history, out);
                out.flush();
                byte[] buf = new byte[BUFFER];
                for (int n; (n = f.next(buf, 15, TimeUnit.SECONDS)) >= 0; ) {
                    if (n > 0) {
                        out.write(buf, 0, n); // one HTTP chunk per batch of what queued up meanwhile
                        out.flush();
                    } else if (ex.clientGone()) {
                        // a quiet console: without this check a viewer gone would hold its stream for good
                        ex.fail(new IOException("the console viewer hung up"));
                        return;
                    }
                }
                out.close(); // the console closed: the VM stopped
            }
        } catch (IOException e) {
            // the viewer hung up
        }
        ex.finish();
    }

    /** Where the served history lies in the current console.log, for clients that resume by offset. */
    private static void describe(Exchange ex, long start, long end) {
        ex.header("Jvirt-Console-Start", Long.toString(start));
        ex.header("Jvirt-Console-End", Long.toString(Math.max(start, end)));
    }

    private static void copy(ConsoleLog.Reader history, OutputStream out) throws IOException {
        byte[] buf = new byte[BUFFER];
        for (int n; (n = history.read(buf)) >= 0; ) {
            out.write(buf, 0, n);
        }
    }
}
