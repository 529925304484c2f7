package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The API's client limits on a real jvirtd, with real connections on its Unix socket: 1000 open event streams do
 * not delay a short request, the stream and connection limits answer 503 naming themselves, and a client that never
 * finishes its headers is cut off at the header deadline.
 */
class ClientLimitsTest {
    static final int STREAMS = 1000;
    static final int MAX_CONNECTIONS = 1100;
    static DaemonProcess daemon;
    static TestHttp http;
    final List<SocketChannel> opened = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        daemon = DaemonProcess.startNew("--max-streams", Integer.toString(STREAMS),
                "--max-connections", Integer.toString(MAX_CONNECTIONS), "--header-timeout", "2", "--max-waits", "1");
        http = daemon.http();
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @AfterEach
    void closeConnections() {
        for (SocketChannel ch : opened) {
            try {
                ch.close();
            } catch (IOException e) {
                // already closed
            }
        }
        opened.clear();
    }

    @Test
    void thousandEventStreamsDoNotStarveShortRequestsAndTheLimitsAnswer503() throws Exception {
        long baselineP50 = percentiles(latencies(50))[0];
        for (int i = 0; i < STREAMS; i++) {
            SocketChannel ch = connect();
            send(ch, "GET /v1/events HTTP/1.1\r\nHost: jvirt\r\n\r\n");
            String start = readUntil(ch, "jvirtd events", 10_000);
            assertThat(start).as("stream %d", i).startsWith("HTTP/1.1 200");
        }
        JsonNode server = http.get("/v1/host").json().path("server");
        assertThat(server.path("streams").asInt()).isEqualTo(STREAMS);
        assertThat(server.path("connections").asInt()).isGreaterThanOrEqualTo(STREAMS);

        long[] p = percentiles(latencies(50));
        System.out.printf("GET /v1/vms with %d event streams open: p50 %.1f ms, p99 %.1f ms (none open: p50 %.1f ms)%n",
                STREAMS, p[0] / 1e6, p[1] / 1e6, baselineP50 / 1e6);
        assertThat(p[0]).as("p50 ns").isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(p[1]).as("p99 ns").isLessThan(TimeUnit.SECONDS.toNanos(1));

        TestHttp.Response refused = http.get("/v1/events");
        assertThat(refused.status()).as(refused.toString()).isEqualTo(503);
        assertThat(refused.errorCode()).isEqualTo("limit-reached");
        assertThat(refused.json().path("error").path("details").path("limit").asText()).isEqualTo("max-streams");
        assertThat(refused.json().path("error").path("message").asText()).contains("max-streams");
        // a console follow counts against the same budget (the VM need not exist: refused before any route runs)
        assertThat(http.get("/v1/vms/none/console?follow=true").status()).isEqualTo(503);
        // short requests still answer
        assertThat(http.get("/v1/vms").status()).isEqualTo(200);

        // add idle connections one at a time until a request's connection is one too many: refused, naming the limit
        TestHttp.Response overLimit = null;
        for (int i = 0; i <= MAX_CONNECTIONS && overLimit == null; i++) {
            TestHttp.Response r = http.get("/v1/vms");
            if (r.status() == 503) {
                overLimit = r;
            } else {
                assertThat(r.status()).isEqualTo(200);
                opened.add(connect());
            }
        }
        assertThat(overLimit).as("a request beyond max-connections").isNotNull();
        assertThat(overLimit.errorCode()).isEqualTo("limit-reached");
        assertThat(overLimit.json().path("error").path("details").path("limit").asText()).isEqualTo("max-connections");
    }

    @Test
    void theWaitBudgetIsSeparateAndAnswers503NamingIt() throws Exception {
        // a ?wait=true request that stays in its handler: an upload whose body never comes
        SocketChannel held = connect();
        send(held, "POST /v1/images/uploads?wait=true HTTP/1.1\r\nHost: jvirt\r\nContent-Type: application/octet-stream"
                + "\r\nContent-Length: 1000\r\n\r\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (http.get("/v1/host").json().path("server").path("waits").asInt() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(20); // until the held request is in its handler
        }
        TestHttp.Response refused = http.get("/v1/vms?wait=true");
        assertThat(refused.status()).as(refused.toString()).isEqualTo(503);
        assertThat(refused.json().path("error").path("details").path("limit").asText()).isEqualTo("max-waits");
        assertThat(http.get("/v1/vms").status()).as("short requests are not affected").isEqualTo(200);
        held.close();
        TestHttp.Response again = null;
        for (int i = 0; i < 100; i++) {
            again = http.get("/v1/vms?wait=true");
            if (again.status() == 200) {
                break;
            }
            Thread.sleep(50);
        }
        assertThat(again.status()).as("the place is given back when the held request ends").isEqualTo(200);
    }

    @Test
    void aClientThatNeverFinishesItsHeadersIsClosedAtTheDeadline() throws Exception {
        SocketChannel slow = connect();
        long t0 = System.nanoTime();
        send(slow, "GET /v1/vms HTTP/1.1\r\nHost: jvirt\r\n");
        CompletableFuture<Long> closedAfter = CompletableFuture.supplyAsync(() -> {
            ByteBuffer b = ByteBuffer.allocate(256);
            try {
                while (slow.read(b) >= 0) {
                    b.clear();
                }
            } catch (IOException e) {
                // reset: closed as well
            }
            return System.nanoTime() - t0;
        });
        // one more header line every 300 ms, never the blank line that ends them (each resets an idle timer)
        for (int i = 0; i < 30 && !closedAfter.isDone(); i++) {
            Thread.sleep(300);
            try {
                send(slow, "X-Slow-" + i + ": 1\r\n");
            } catch (IOException e) {
                break; // the daemon closed it
            }
            if (i == 2) {
                assertThat(http.get("/v1/vms").status()).as("others are served meanwhile").isEqualTo(200);
            }
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(closedAfter.get(10, TimeUnit.SECONDS));
        System.out.println("slow-header connection closed after " + ms + " ms (header timeout 2 s)");
        assertThat(ms).isBetween(1_500L, 5_000L);

        // an idle connection (nothing sent at all) goes the same way
        SocketChannel idle = connect();
        long t1 = System.nanoTime();
        ByteBuffer b = ByteBuffer.allocate(16);
        assertThat(idle.read(b)).isEqualTo(-1);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1)).isBetween(1_500L, 5_000L);
    }

    private SocketChannel connect() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(daemon.socket()));
        opened.add(ch);
        return ch;
    }

    private static void send(SocketChannel ch, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static String readUntil(SocketChannel ch, String marker, long timeoutMs) throws Exception {
        CompletableFuture<String> f = CompletableFuture.supplyAsync(() -> {
            StringBuilder sb = new StringBuilder();
            ByteBuffer b = ByteBuffer.allocate(512);
            try {
                while (sb.indexOf(marker) < 0) {
                    b.clear();
                    if (ch.read(b) < 0) {
                        break;
                    }
                    sb.append(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
                }
            } catch (IOException e) {
                sb.append(e);
            }
            return sb.toString();
        });
        return f.get(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private static long[] latencies(int n) {
        long[] ns = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            TestHttp.Response r = http.get("/v1/vms");
            ns[i] = System.nanoTime() - t;
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
        }
        return ns;
    }

    /** p50 and p99 (nearest rank). */
    private static long[] percentiles(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return new long[] {s[(int) Math.ceil(0.50 * s.length) - 1], s[(int) Math.ceil(0.99 * s.length) - 1]};
    }
}
