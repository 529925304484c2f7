package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;
import io.jvirt.qmp.QmpJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The typed guest agent of one VM, over its qga socket: the agent's vocabulary lives here as the monitor's lives
 * in {@link Monitor}, one small method per command, each with the time it may take. The wire protocol (sync,
 * bounded reads, deadlines) is {@link AgentChannel}'s. Failures are {@link GuestAgentException}s.
 *
 * <p>One call at a time (the caller serialises). After a timeout the connection is closed: check
 * {@link #isOpen()} and connect again, which syncs.
 */
public final class GuestAgent implements AutoCloseable {
    /** The most a reply may carry, unless a call says otherwise. */
    public static final int MAX_REPLY = 1 << 20;
    /** guest-exec-status carries the captured output (base64): it may be larger. */
    public static final int MAX_EXEC_REPLY = 8 << 20;

    private final AgentChannel channel;

    private GuestAgent(AgentChannel channel) {
        this.channel = channel;
    }

    /** Connects and synchronizes within {@code timeout}; every later answer belongs to this session. */
    public static GuestAgent connect(Path socket, Duration timeout) {
        AgentChannel ch = AgentChannel.open(socket);
        try {
            ch.sync(timeout);
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        }
        return new GuestAgent(ch);
    }

    public boolean isOpen() {
        return channel.isOpen();
    }

    // ---- queries ---------------------------------------------------------------------------------------------------

    public void ping(Duration timeout) {
        call("guest-ping", null, timeout);
    }

    public GuestAgentReplies.Info info(Duration timeout) {
        return decode(call("guest-info", null, timeout), GuestAgentReplies.Info.class);
    }

    public GuestAgentReplies.OsInfo osInfo(Duration timeout) {
        return decode(call("guest-get-osinfo", null, timeout), GuestAgentReplies.OsInfo.class);
    }

    public String hostName(Duration timeout) {
        return call("guest-get-host-name", null, timeout).path("host-name").asText();
    }

    public List<GuestAgentReplies.User> users(Duration timeout) {
        return decodeList(call("guest-get-users", null, timeout), GuestAgentReplies.User.class);
    }

    /** The guest's clock, in nanoseconds since the epoch. */
    public long time(Duration timeout) {
        return call("guest-get-time", null, timeout).asLong();
    }

    public GuestAgentReplies.Timezone timezone(Duration timeout) {
        return decode(call("guest-get-timezone", null, timeout), GuestAgentReplies.Timezone.class);
    }

    public List<GuestAgentReplies.Filesystem> fsInfo(Duration timeout) {
        return decodeList(call("guest-get-fsinfo", null, timeout), GuestAgentReplies.Filesystem.class);
    }

    public List<GuestAgentReplies.Interface> interfaces(Duration timeout) {
        return decodeList(call("guest-network-get-interfaces", null, timeout), GuestAgentReplies.Interface.class);
    }

    /** The guest's logical CPUs and whether each is online (what a vCPU hotplug looks like from inside). */
    public List<GuestAgentReplies.Vcpu> vcpus(Duration timeout) {
        return decodeList(call("guest-get-vcpus", null, timeout), GuestAgentReplies.Vcpu.class);
    }

    /** The guest's memory blocks (sections) and whether each is online. */
    public List<GuestAgentReplies.MemoryBlock> memoryBlocks(Duration timeout) {
        return decodeList(call("guest-get-memory-blocks", null, timeout), GuestAgentReplies.MemoryBlock.class);
    }

    /** The size of one guest memory block, bytes. */
    public long memoryBlockSize(Duration timeout) {
        return call("guest-get-memory-block-info", null, timeout).path("size").asLong();
    }

    /** "thawed" or "frozen". */
    public String fsfreezeStatus(Duration timeout) {
        return call("guest-fsfreeze-status", null, timeout).asText();
    }

    // ---- changes -----------------------------------------------------------------------------------------------------

    /** Freezes the guest's filesystems; returns how many it froze. */
    public int fsfreezeFreeze(Duration timeout) {
        return call("guest-fsfreeze-freeze", null, timeout).asInt(0);
    }

    /** Thaws the guest's filesystems (idempotent); returns how many it thawed. */
    public int fsfreezeThaw(Duration timeout) {
        return call("guest-fsfreeze-thaw", null, timeout).asInt(0);
    }

    /** Sets the guest's clock to {@code epochNanos} (the agent also writes it to the guest's RTC). */
    public void setTime(long epochNanos, Duration timeout) {
        call("guest-set-time", QmpArgs.of("time", epochNanos), timeout);
    }

    /**
     * Sets {@code user}'s password; {@code crypted}: it is already crypt()ed. The agent wants it base64 either
     * way; it is never logged.
     */
    public void setUserPassword(String user, String password, boolean crypted, Duration timeout) {
        String encoded = Base64.getEncoder().encodeToString(password.getBytes(StandardCharsets.UTF_8));
        call("guest-set-user-password", QmpArgs.of("username", user, "password", encoded, "crypted", crypted), timeout);
    }

    /**
     * Starts {@code path} with {@code args} in the guest (output captured if asked); returns its pid. {@code env}
     * entries are {@code NAME=VALUE}; {@code input} is given to its stdin (null: none).
     */
    public long exec(String path, List<String> args, List<String> env, byte[] input, boolean captureOutput,
                     Duration timeout) {
        ObjectNode a = QmpArgs.of("path", path, "capture-output", captureOutput,
                "input-data", input == null ? null : Base64.getEncoder().encodeToString(input));
        a.set("arg", strings(args));
        if (env != null && !env.isEmpty()) {
            a.set("env", strings(env));
        }
        return call("guest-exec", a, timeout).path("pid").asLong();
    }

    public GuestAgentReplies.ExecStatus execStatus(long pid, Duration timeout) {
        return decode(channel.execute("guest-exec-status", QmpArgs.of("pid", pid), timeout, MAX_EXEC_REPLY),
                GuestAgentReplies.ExecStatus.class);
    }

    /**
     * Asks the guest to power off, halt or reboot ({@code powerdown}, {@code halt}, {@code reboot}). The agent
     * sends no reply when it succeeds: this returns once the request is written.
     */
    public void shutdown(String mode, Duration timeout) {
        channel.send("guest-shutdown", QmpArgs.of("mode", mode), timeout);
    }

    /** Any command by name, for what has no method yet; its {@code return} as JSON. */
    public JsonNode command(String command, Map<String, Object> arguments, Duration timeout) {
        ObjectNode a = arguments == null ? null : QmpJson.mapper().valueToTree(arguments);
        return call(command, a, timeout);
    }

    @Override
    public void close() {
        channel.close();
    }

    private JsonNode call(String command, ObjectNode arguments, Duration timeout) {
        return channel.execute(command, arguments, timeout, MAX_REPLY);
    }

    /** A reply read as {@code type}; one that does not fit (a guest forging replies) is a protocol failure. */
    private static <T> T decode(JsonNode reply, Class<T> type) {
        try {
            return Monitor.read(reply, type);
        } catch (IllegalArgumentException e) {
            throw new GuestAgentException(GuestAgentException.Kind.PROTOCOL, null,
                    "the guest agent's reply does not have the expected shape: " + e.getMessage(), e);
        }
    }

    private static <T> List<T> decodeList(JsonNode reply, Class<T> element) {
        try {
            return Monitor.readList(reply, element);
        } catch (IllegalArgumentException e) {
            throw new GuestAgentException(GuestAgentException.Kind.PROTOCOL, null,
                    "the guest agent's reply does not have the expected shape: " + e.getMessage(), e);
        }
    }

    private static ArrayNode strings(List<String> values) {
        ArrayNode arr = QmpJson.mapper().createArrayNode();
        if (values != null) {
            values.forEach(arr::add);
        }
        return arr;
    }
}
