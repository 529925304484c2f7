package io.jvirt.cli;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP answer read from a {@link HttpTransport.Connection}: status, headers, and a body framed by
 * Content-Length, chunked transfer encoding or the end of the connection. Reads of the body return as soon as some
 * bytes arrived, so streams (console, events) are seen as they come. Close it (try-with-resources).
 */
final class HttpResponse implements Closeable {
    private final int status;
    private final Map<String, String> headers;
    private final Body body;

    private HttpResponse(int status, Map<String, String> headers, Body body) {
        this.status = status;
        this.headers = headers;
        this.body = body;
    }

    /** Reads the status line and headers (skipping interim 1xx answers); the body is left to read. */
    static HttpResponse read(HttpTransport.Connection c, String method) throws IOException {
        while (true) {
            String statusLine = c.readLine();
            if (statusLine == null) throw new EOFException("jvirtd closed the connection without answering");
            if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) { // HTTP/1.1 200 OK
                throw new IOException("bad HTTP status line from jvirtd: " + statusLine);
            }
            int status;
            try {
                status = Integer.parseInt(statusLine.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("bad HTTP status line from jvirtd: " + statusLine, e);
            }
            boolean http11 = statusLine.charAt(7) == '1';
            Map<String, String> headers = new HashMap<>();
            for (String h; ; ) {
                h = c.readLine();
                if (h == null) throw new EOFException("jvirtd closed the connection in the middle of its answer");
                if (h.isEmpty()) break;
                int colon = h.indexOf(':');
                if (colon <= 0) continue;
                String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).trim();
                String before = headers.put(name, value);
                if (before != null) headers.put(name, before + ", " + value);
            }
            if (status >= 100 && status < 200 && status != 101) continue; // interim answer
            String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
            boolean keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
            String te = headers.getOrDefault("transfer-encoding", "").toLowerCase(Locale.ROOT);
            String cl = headers.get("content-length");
            Body body;
            if (method.equals("HEAD") || status == 204 || status == 304) {
                body = new Body(c, Body.FIXED, 0, keepAlive);
            } else if (te.contains("chunked")) {
                body = new Body(c, Body.CHUNKED, 0, keepAlive);
            } else if (cl != null) {
                long len;
                try {
                    len = Long.parseLong(cl.contains(",") ? cl.substring(0, cl.indexOf(',')).trim() : cl);
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length from jvirtd: " + cl, e);
                }
                body = new Body(c, Body.FIXED, len, keepAlive);
            } else {
                body = new Body(c, Body.TO_EOF, 0, false);
            }
            return new HttpResponse(status, headers, body);
        }
    }

    int status() {
        return status;
    }

    /** A header value (name case-insensitive; repeated headers joined with ", "), or null. */
    String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** The body; reads return as soon as some bytes arrived. */
    InputStream body() {
        return body;
    }

    byte[] readAllBytes() throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(1024);
        byte[] buf = new byte[8192];
        for (int n; (n = body.read(buf, 0, buf.length)) >= 0; ) bos.write(buf, 0, n);
        return bos.toByteArray();
    }

    @Override
    public void close() {
        body.close();
    }

    /** The body's framing: a fixed length, chunked transfer encoding (extensions and trailers ignored), or EOF. */
    private static final class Body extends InputStream {
        static final int FIXED = 0;
        static final int CHUNKED = 1;
        static final int TO_EOF = 2;

        private final HttpTransport.Connection c;
        private final int mode;
        private final boolean keepAlive;
        private long remaining; // FIXED: bytes left; CHUNKED: bytes left in the current chunk
        private boolean firstChunk = true;
        private boolean done;
        private boolean released;

        Body(HttpTransport.Connection c, int mode, long length, boolean keepAlive) {
            this.c = c;
            this.mode = mode;
            this.remaining = length;
            this.keepAlive = keepAlive;
            if (mode == FIXED && length == 0) finish();
        }

        private void finish() {
            done = true;
            if (!released) {
                released = true;
                if (keepAlive && mode != TO_EOF) c.release();
                else c.close();
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n <= 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) return -1;
            if (len == 0) return 0;
            if (mode == FIXED) {
                int n = c.read(b, off, (int) Math.min(len, remaining));
                if (n < 0) throw new EOFException("jvirtd closed the connection before the end of the answer");
                remaining -= n;
                if (remaining == 0) finish();
                return n;
            }
            if (mode == TO_EOF) {
                int n = c.read(b, off, len);
                if (n < 0) finish();
                return n;
            }
            if (remaining == 0 && !nextChunk()) {
                finish();
                return -1;
            }
            int n = c.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) throw new EOFException("jvirtd closed the connection in a chunked answer");
            remaining -= n;
            return n;
        }

        /** Reads the next chunk's size line; false at the last (empty) chunk, whose trailers it skips. */
        private boolean nextChunk() throws IOException {
            if (!firstChunk) {
                String crlf = c.readLine();
                if (crlf == null || !crlf.isEmpty()) throw new IOException("bad chunked encoding");
            }
            firstChunk = false;
            String size = c.readLine();
            if (size == null) throw new EOFException("jvirtd closed the connection in a chunked answer");
            int semi = size.indexOf(';');
            if (semi >= 0) size = size.substring(0, semi);
            try {
                remaining = Long.parseLong(size.trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size '" + size + "'", e);
            }
            if (remaining > 0) return true;
            for (String t; (t = c.readLine()) != null && !t.isEmpty(); ) {
                // trailers: ignored
            }
            return false;
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                done = true;
                c.close(); // not fully read: the connection cannot be reused
            }
        }
    }
}
