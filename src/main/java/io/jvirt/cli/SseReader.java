package io.jvirt.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Reads a Server-Sent Events stream ({@code GET /v1/events}): {@code event:} and {@code data:} fields, comments. */
final class SseReader {
    /** Receives Server-Sent Events. */
    @FunctionalInterface
    interface Listener {
        /**
         * @param type the {@code event:} field ({@code message} when absent)
         * @param data the {@code data:} lines joined with {@code \n}
         * @return false to stop listening
         */
        boolean onEvent(String type, String data) throws IOException;
    }

    private SseReader() {
    }

    /** Hands every event of {@code in} to {@code listener} until the stream ends or the listener says stop. */
    static void read(InputStream in, Listener listener) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        String type = null;
        StringBuilder data = null;
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) {
            for (int i = 0; i < n; i++) {
                byte b = buf[i];
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                String l = line.toString(StandardCharsets.UTF_8);
                line.reset();
                if (l.endsWith("\r")) l = l.substring(0, l.length() - 1);
                if (l.isEmpty()) { // dispatch
                    if (data != null && !listener.onEvent(type == null ? "message" : type, data.toString())) return;
                    type = null;
                    data = null;
                } else if (l.charAt(0) != ':') { // a ':' line is a comment (keep-alive)
                    int c = l.indexOf(':');
                    String field = c < 0 ? l : l.substring(0, c);
                    String value = c < 0 ? "" : l.substring(c + 1);
                    if (value.startsWith(" ")) value = value.substring(1);
                    if (field.equals("event")) {
                        type = value;
                    } else if (field.equals("data")) {
                        if (data == null) data = new StringBuilder(value);
                        else data.append('\n').append(value);
                    }
                }
            }
        }
    }
}
