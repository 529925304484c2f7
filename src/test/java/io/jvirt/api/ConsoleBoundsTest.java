package io.jvirt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvirt.cli.JvirtCli;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.GuestConsole;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Consoles stay bounded with real guests: one floods its serial console while a viewer never reads, and the
 * daemon's heap stays flat, console.log stays at its cap, tail reads and {@code jvirt console} show current output;
 * input to a paused guest fails within its timeout while the other VM's console keeps working.
 */
class ConsoleBoundsTest {
    static final long CAP = 64 << 10;
    static final int FLOOD_SECONDS = 60; // the issue: "a guest flooding its serial console for a minute"
    static final Pattern TICK = Pattern.compile("TICK-(\\d+)\\r?\\n");
    static DaemonProcess daemon;
    static TestHttp api;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.startNew(List.of("-Xmx96m"), "--console-log-size", "64K",
                "--console-follow-buffer", "32K", "--console-input-timeout", "2");
        api = daemon.http();
        for (String vm : List.of("flood", "calm")) {
            assertThat(api.post("/v1/vms", TestGuest.definition(vm)).status()).isEqualTo(201);
            TestHttp.Response r = api.post("/v1/vms/" + vm + "/start?wait=true");
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
        }
        for (String vm : List.of("flood", "calm")) {
            try (ConsoleReader c = GuestConsole.ready(api, vm)) {
                assertThat(c.text()).contains(TestGuest.READY);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void aFloodingGuestKeepsTheDaemonFlatTheLogCappedAndTheConsoleUsable() throws Exception {
        Path log = daemon.stateDir().resolve("owners/flood/console.log");
        try (TestHttp.Stream stalled = api.open("GET", "/v1/vms/flood/console?follow=true&tail=0", null, null);
             TestHttp.Stream counted = api.open("GET", "/v1/vms/flood/console?follow=true&tail=0", null, null)) {
            assertThat(stalled.status).isEqualTo(200); // never read until the flood is over
            java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[16384];
                try {
                    for (int n; (n = counted.body.read(buf)) > 0; ) {
                        total.addAndGet(n);
                    }
                } catch (IOException e) {
                    // closed
                }
            });
            GuestConsole.type(api, "flood", "end=$(($(date +%s)+" + FLOOD_SECONDS + ")); n=0; while [ $(date +%s) -lt $end ];"
                    + " do n=$((n+1)); echo TICK-$n; cat /proc/cpuinfo /proc/cpuinfo /proc/cpuinfo; done; echo FLOOD-$((40+2))-DONE");
            // the flood has begun (a loaded machine may take a few seconds to run the typed line)
            long lastTick = 0;
            for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); lastTick == 0 && System.nanoTime() < until; ) {
                Thread.sleep(200);
                lastTick = lastTick(api.get("/v1/vms/flood/console?tail=16384").text());
            }
            assertThat(lastTick).as("the guest started flooding").isPositive();
            long t0 = System.nanoTime();
            List<Long> live = new ArrayList<>();
            long maxLog = 0;
            boolean cliChecked = false;
            while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(FLOOD_SECONDS - 3)) {
                Thread.sleep(2_000);
                JsonNode server = api.get("/v1/host").json().path("server");
                live.add(server.path("heapLiveAfterGcBytes").asLong());
                maxLog = Math.max(maxLog, Files.size(log));
                long tick = lastTick(api.get("/v1/vms/flood/console?tail=16384").text());
                assertThat(tick).as("a tail read shows current output").isGreaterThan(lastTick);
                lastTick = tick;
                if (!cliChecked && System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(10)) {
                    cliChecked = true;
                    // `jvirt console --wait-for` follows (history then live) and sees a tick printed after now
                    String future = "TICK-" + (tick + 20);
                    Cli r = cli("console", "flood", "--wait-for", future, "--timeout", "20");
                    assertThat(r.exit).as(r.err).isZero();
                    assertThat(r.out).contains(future);
                    // and without --follow it prints the log, capped (just after a rotation the current file may
                    // not hold a whole tick yet: its --tail reaches back into console.log.1)
                    Cli whole = cli("console", "flood");
                    assertThat(whole.exit).as(whole.err).isZero();
                    assertThat((long) whole.out.length()).isLessThanOrEqualTo(CAP + 32 * 1024);
                    Cli tail = cli("console", "flood", "--tail", "32768");
                    assertThat(tail.exit).as(tail.err).isZero();
                    assertThat((long) tail.out.length()).isBetween(16384L, 32768L);
                    assertThat(lastTick(tail.out)).as("a tail shows recent ticks").isGreaterThan(0);
                }
            }
            assertThat(cliChecked).isTrue();
            try (ConsoleReader done = new ConsoleReader(api, "flood")) {
                done.await("FLOOD-42-DONE", Duration.ofSeconds(60));
            }
            System.out.println("flood: " + total.get() + " bytes in " + FLOOD_SECONDS + " s (a follower that keeps up saw"
                    + " them all), last tick " + lastTick + ", console.log at most " + maxLog + " bytes (cap " + CAP
                    + "), console.log.1 " + Files.size(log.resolveSibling("console.log.1")) + " bytes, daemon heap live"
                    + " after GC (bytes) " + live);
            assertThat(maxLog).isLessThanOrEqualTo(CAP + 32 * 1024);
            assertThat(Files.size(log.resolveSibling("console.log.1"))).isBetween(CAP / 2, CAP + 32 * 1024);
            long first = live.stream().filter(v -> v > 0).findFirst().orElseThrow();
            assertThat(live.stream().mapToLong(Long::longValue).max().orElseThrow())
                    .as("live heap during the flood").isLessThan(first + (24L << 20));

            // the viewer that never read was not allowed to hold the flood: it reads a marker, not 30 s of output
            String seen = readUntil(stalled.body, "bytes dropped: viewer too slow]", Duration.ofSeconds(30));
            assertThat(seen).contains("bytes dropped: viewer too slow]");
        }
        assertThat(Files.readString(daemon.log())).doesNotContain("OutOfMemoryError");
        try (ConsoleReader after = new ConsoleReader(api, "flood")) {
            int at = after.length();
            GuestConsole.type(api, "flood", "echo after-$((6*7))");
            after.await("after-42", at, Duration.ofSeconds(30));
        }
    }

    @Test
    void inputToAPausedGuestFailsWithinItsTimeoutWhileAnotherConsoleWorks() throws Exception {
        assertThat(api.post("/v1/vms/calm/suspend").json().path("state").asText()).isEqualTo("paused");

        // a viewer of a quiet console that hangs up gives its stream back (found by the follow's hang-up check)
        awaitStreams(0);
        TestHttp.Stream quiet = api.open("GET", "/v1/vms/calm/console?follow=true&tail=0", null, null);
        assertThat(api.get("/v1/host").json().path("server").path("streams").asInt()).isEqualTo(1);
        quiet.close();
        long gone = System.nanoTime();
        awaitStreams(0);
        System.out.println("a quiet follow's hang-up was noticed after "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - gone) + " ms");

        byte[] chunk = ("#" + "x".repeat(64 * 1024 - 2) + "\r").getBytes(StandardCharsets.US_ASCII);
        TestHttp.Response refused = null;
        long refusedMs = 0;
        for (int i = 0; i < 40 && refused == null; i++) {
            long t = System.nanoTime();
            TestHttp.Response r = api.postBytes("/v1/vms/calm/console", chunk);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t);
            assertThat(ms).as("each input call returns within its timeout").isLessThan(5_000);
            if (r.status() != 204) {
                refused = r;
                refusedMs = ms;
            }
        }
        assertThat(refused).as("input to a paused guest fills the socket, then times out").isNotNull();
        assertThat(refused.status()).isEqualTo(504);
        assertThat(refused.errorCode()).isEqualTo("timeout");
        assertThat(refused.json().path("error").path("message").asText()).contains("not taken within 2000 ms");
        System.out.println("input to the paused guest refused after " + refusedMs + " ms: " + refused);

        // while calm's input waits (a call in flight), flood's console answers input at once
        CompletableFuture<TestHttp.Response> stuck = CompletableFuture.supplyAsync(
                () -> api.postBytes("/v1/vms/calm/console", chunk));
        try (ConsoleReader other = new ConsoleReader(api, "flood")) {
            int at = other.length();
            long t = System.nanoTime();
            GuestConsole.type(api, "flood", "echo other-$((6*7))");
            other.await("other-42", at, Duration.ofSeconds(30));
            System.out.println("the other VM's console answered in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t)
                    + " ms while the paused one's input waited");
        }
        assertThat(stuck.get(10, TimeUnit.SECONDS).status()).isEqualTo(504);
        assertThat(api.get("/v1/vms/calm/console?tail=100").status()).as("reads still answer").isEqualTo(200);

        // `jvirt console --follow` typing into the paused guest reports each timeout and keeps the session
        CompletableFuture<Cli> session = CompletableFuture.supplyAsync(() -> cli(new java.io.ByteArrayInputStream(
                new byte[3 * 4096]), "console", "calm", "--follow"));
        Thread.sleep(8_000); // three inputs of 4 KiB, each refused after 2 s
        assertThat(api.post("/v1/vms/calm/destroy").status()).isEqualTo(200); // ends the follow
        Cli r = session.get(30, TimeUnit.SECONDS);
        assertThat(r.exit).as(r.err).isZero();
        assertThat(r.err.split("not taken within", -1).length - 1).as(r.err).isGreaterThanOrEqualTo(2);
    }

    static void awaitStreams(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        int now;
        while ((now = api.get("/v1/host").json().path("server").path("streams").asInt()) != n) {
            assertThat(System.nanoTime()).as("open streams still %d, expected %d", now, n).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    record Cli(int exit, String out, String err) {
    }

    static Cli cli(String... args) {
        return cli(InputStream.nullInputStream(), args);
    }

    static Cli cli(InputStream in, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] full = new String[args.length + 2];
        full[0] = "--socket";
        full[1] = daemon.socket().toString();
        System.arraycopy(args, 0, full, 2, args.length);
        int exit = JvirtCli.run(full, in, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Cli(exit, out.toString(StandardCharsets.ISO_8859_1), err.toString(StandardCharsets.UTF_8));
    }

    static long lastTick(String text) {
        long last = 0;
        Matcher m = TICK.matcher(text);
        while (m.find()) {
            last = Math.max(last, Long.parseLong(m.group(1)));
        }
        return last;
    }

    static String readUntil(InputStream in, String text, Duration timeout) throws Exception {
        StringBuffer seen = new StringBuffer();
        CompletableFuture<Void> f = CompletableFuture.runAsync(() -> {
            byte[] buf = new byte[8192];
            try {
                for (int n; seen.indexOf(text) < 0 && (n = in.read(buf)) > 0; ) {
                    seen.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    if (seen.length() > (1 << 20)) {
                        seen.delete(0, seen.length() - (64 << 10));
                    }
                }
            } catch (IOException e) {
                // closed
            }
        });
        try {
            f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // return what arrived
        }
        return seen.toString();
    }
}
