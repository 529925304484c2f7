package io.jvirt.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Follows a VM's console through the API and waits for text to appear in it. */
public final class ConsoleReader implements AutoCloseable {
    private final TestHttp.Stream stream;
    private final StringBuffer seen = new StringBuffer();
    private final Thread reader;

    public ConsoleReader(TestHttp http, String vm) throws IOException {
        this.stream = http.open("GET", "/v1/vms/" + vm + "/console?follow=true", null, null);
        if (stream.status != 200) {
            throw new AssertionError("console of " + vm + " answered " + stream.status);
        }
        this.reader = Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[4096];
            try {
                InputStream in = stream.body;
                int n;
                while ((n = in.read(buf)) > 0) {
                    String s = new String(buf, 0, n, StandardCharsets.UTF_8);
                    synchronized (seen) {
                        seen.append(s);
                        seen.notifyAll();
                    }
                }
            } catch (IOException e) {
                // closed
            }
            synchronized (seen) {
                seen.notifyAll();
            }
        });
    }

    /** Waits until {@code text} appears after position {@code from}; returns the index just after it. */
    public int await(String text, int from, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (seen) {
            while (true) {
                int i = seen.indexOf(text, from);
                if (i >= 0) {
                    return i + text.length();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("console never showed '" + text + "' within " + timeout + "; it showed:\n" + seen);
                }
                try {
                    seen.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
        }
    }

    public int await(String text, Duration timeout) {
        return await(text, 0, timeout);
    }

    public String text() {
        return seen.toString();
    }

    public int length() {
        return seen.length();
    }

    @Override
    public void close() throws IOException {
        stream.close();
        reader.interrupt();
    }
}
