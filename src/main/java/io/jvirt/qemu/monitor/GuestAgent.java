package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The typed guest agent of one VM, over its qga socket (one line of JSON per message): the agent's vocabulary lives
 * here as the monitor's lives in {@link Monitor}, one small method per command. The agent may have answers of an
 * earlier, abandoned client queued, so every session starts with guest-sync and skips lines until the sync id
 * comes back.
 */
public final class GuestAgent implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SocketChannel channel;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Duration timeout;

    private GuestAgent(SocketChannel channel, Duration timeout) {
        this.channel = channel;
        this.timeout = timeout;
        BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        Thread.ofVirtual().name("qga-reader").start(() -> {
            try {
                for (String l; (l = in.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // closed
            }
        });
    }

    /** Connects and synchronizes; every later answer belongs to this session. */
    public static GuestAgent connect(Path socket, Duration timeout) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        GuestAgent agent = new GuestAgent(ch, timeout);
        try {
            long id = ThreadLocalRandom.current().nextLong(1, 1L << 40);
            ObjectNode args = JSON.createObjectNode().put("id", id);
            agent.send("guest-sync", args);
            while (true) {
                JsonNode answer = agent.next();
                if (answer.path("return").asLong(-1) == id) {
                    return agent;
                }
            }
        } catch (IOException | RuntimeException e) {
            agent.close();
            throw e;
        }
    }

    /** Freezes the guest's filesystems; returns how many it froze. */
    public int fsfreezeFreeze() throws IOException {
        return execute("guest-fsfreeze-freeze").asInt(0);
    }

    /** Thaws the guest's filesystems (idempotent); returns how many it thawed. */
    public int fsfreezeThaw() throws IOException {
        return execute("guest-fsfreeze-thaw").asInt(0);
    }

    /** Runs a command; returns its "return" value or throws with the agent's error. */
    private JsonNode execute(String command) throws IOException {
        send(command, null);
        JsonNode answer = next();
        if (answer.has("error")) {
            throw new IOException("guest agent: " + command + ": " + answer.path("error").path("desc").asText());
        }
        return answer.path("return");
    }

    private void send(String command, JsonNode args) throws IOException {
        ObjectNode msg = JSON.createObjectNode().put("execute", command);
        if (args != null) {
            msg.set("arguments", args);
        }
        ByteBuffer b = ByteBuffer.wrap((msg + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private JsonNode next() throws IOException {
        try {
            String l = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (l == null) {
                throw new IOException("guest agent did not answer within " + timeout.toSeconds() + " s");
            }
            return JSON.readTree(l);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // best effort
        }
    }
}
