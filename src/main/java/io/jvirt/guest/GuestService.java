package io.jvirt.guest;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.monitor.GuestAgentReplies;
import io.jvirt.vm.VmManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The guest agent capability, the entry point the API (and a quiesced snapshot) uses: queries of the guest
 * (ping, info, OS, host name, users, clock, filesystems, interfaces), changes (clock, freeze/thaw, passwords,
 * power) and commands run in the guest ({@link GuestExec}). Every call goes through its VM's agent slot
 * ({@link AgentSessions}) with a timeout ({@link #DEFAULT_TIMEOUT} unless the caller gives one), never through the
 * VM's job slot. Disks and NICs the guest reports are named as jvirt names them ({@link GuestMapping}).
 */
public final class GuestService {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    static final Set<String> POWER_MODES = Set.of("powerdown", "halt", "reboot");

    private final VmManager vms;
    private final AgentSessions sessions;
    private final GuestMapping mapping;
    private final GuestExec exec;

    public GuestService(VmManager vms) {
        this.vms = vms;
        this.sessions = new AgentSessions(vms);
        this.mapping = new GuestMapping(vms);
        this.exec = new GuestExec(sessions);
    }

    // ---- queries -----------------------------------------------------------------------------------------------

    /** Whether the agent answers (never an error for one that does not: {@code answers} false and why). */
    public GuestViews.AgentInfo info(String vm, Duration timeout) {
        long t0 = System.nanoTime();
        try {
            GuestAgentReplies.Info i = sessions.call(vm, "info", timeout, (a, left) -> a.info(left));
            sessions.rememberVersion(vm, i.version());
            List<String> enabled = i.supportedCommands().stream().filter(GuestAgentReplies.Command::enabled)
                    .map(GuestAgentReplies.Command::name).sorted().toList();
            List<String> disabled = i.supportedCommands().stream().filter(c -> !c.enabled())
                    .map(GuestAgentReplies.Command::name).sorted().toList();
            return new GuestViews.AgentInfo(vm, true, i.version(), (System.nanoTime() - t0) / 1_000_000, enabled,
                    disabled, null, sessions.slotView(vm));
        } catch (JvirtException e) {
            if (e.code() == ErrorCode.VM_NOT_FOUND) {
                throw e;
            }
            return new GuestViews.AgentInfo(vm, false, sessions.knownVersion(vm), null, null, null, e.getMessage(),
                    sessions.slotView(vm));
        }
    }

    public GuestViews.Ping ping(String vm, Duration timeout) {
        long t0 = System.nanoTime();
        sessions.call(vm, "ping", timeout, (a, left) -> {
            a.ping(left);
            return null;
        });
        return new GuestViews.Ping(vm, true, (System.nanoTime() - t0) / 1_000_000);
    }

    public GuestAgentReplies.OsInfo osInfo(String vm, Duration timeout) {
        return sessions.call(vm, "osinfo", timeout, (a, left) -> a.osInfo(left));
    }

    public GuestViews.HostName hostName(String vm, Duration timeout) {
        return new GuestViews.HostName(vm, sessions.call(vm, "hostname", timeout, (a, left) -> a.hostName(left)));
    }

    public List<GuestAgentReplies.User> users(String vm, Duration timeout) {
        return sessions.call(vm, "users", timeout, (a, left) -> a.users(left));
    }

    public GuestViews.Time time(String vm, Duration timeout) {
        return sessions.call(vm, "time", timeout, (a, left) -> {
            long guest = a.time(left);
            Instant host = Instant.now();
            GuestAgentReplies.Timezone tz = a.timezone(left);
            Instant g = Instant.ofEpochSecond(0, guest);
            return new GuestViews.Time(vm, g, guest, host, Duration.between(host, g).toMillis(), tz);
        });
    }

    public List<GuestViews.Filesystem> fsInfo(String vm, Duration timeout) {
        List<GuestAgentReplies.Filesystem> fs = sessions.call(vm, "fsinfo", timeout, (a, left) -> a.fsInfo(left));
        return mapping.filesystems(vm, fs);
    }

    /**
     * What the guest itself has online, by its agent: vCPUs and memory (MiB, blocks times block size), for
     * hotplug's "what the guest sees" (docs/hotplug.md).
     */
    public GuestViews.Resources resources(String vm, Duration timeout) {
        return sessions.call(vm, "vcpus", timeout, (a, left) -> {
            long vcpus = a.vcpus(left).stream().filter(GuestAgentReplies.Vcpu::online).count();
            long block = a.memoryBlockSize(left);
            long blocks = a.memoryBlocks(left).stream().filter(GuestAgentReplies.MemoryBlock::online).count();
            return new GuestViews.Resources((int) vcpus, blocks * block / (1024 * 1024));
        });
    }

    public List<GuestViews.Interface> interfaces(String vm, Duration timeout) {
        List<GuestAgentReplies.Interface> nics = sessions.call(vm, "interfaces", timeout,
                (a, left) -> a.interfaces(left));
        return mapping.interfaces(vm, nics);
    }

    public GuestViews.FreezeStatus fsfreezeStatus(String vm, Duration timeout) {
        return new GuestViews.FreezeStatus(vm, sessions.call(vm, "fsfreeze status", timeout,
                (a, left) -> a.fsfreezeStatus(left)));
    }

    // ---- changes -----------------------------------------------------------------------------------------------

    /** Freezes the guest's filesystems (a quiesced snapshot does this too); returns how many. */
    public GuestViews.FreezeResult freeze(String vm, Duration timeout) {
        return new GuestViews.FreezeResult(vm, "freeze", sessions.call(vm, "fsfreeze freeze", timeout,
                (a, left) -> a.fsfreezeFreeze(left)));
    }

    public GuestViews.FreezeResult thaw(String vm, Duration timeout) {
        return new GuestViews.FreezeResult(vm, "thaw", sessions.call(vm, "fsfreeze thaw", timeout,
                (a, left) -> a.fsfreezeThaw(left)));
    }

    /** Sets the guest's clock from the host's (and the guest's RTC from it); returns the clocks afterwards. */
    public GuestViews.Time setTimeFromHost(String vm, Duration timeout) {
        sessions.call(vm, "set-time", timeout, (a, left) -> {
            Instant now = Instant.now();
            a.setTime(now.getEpochSecond() * 1_000_000_000L + now.getNano(), left);
            return null;
        });
        return time(vm, timeout);
    }

    /** Sets a user's password (already crypt()ed if {@code crypted}); the password is never logged. */
    public void setPassword(String vm, String user, String password, boolean crypted, Duration timeout) {
        if (user == null || user.isBlank() || user.contains(":") || user.chars().anyMatch(c -> c < 0x20)) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "a user name is needed (no ':' or control characters)");
        }
        if (password == null || password.isEmpty() || password.chars().anyMatch(c -> c == '\n' || c == 0)) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "the password must not be empty nor hold a newline");
        }
        sessions.call(vm, "set-password", timeout, (a, left) -> {
            a.setUserPassword(user, password, crypted, left);
            return null;
        });
    }

    /** Asks the guest to power off, halt or reboot through its agent (no reply comes when it succeeds). */
    public GuestViews.PowerRequest shutdown(String vm, String mode, Duration timeout) {
        if (!POWER_MODES.contains(mode)) {
            throw new JvirtException(ErrorCode.INVALID_ARGUMENT, "mode must be powerdown, halt or reboot, got '" + mode + "'",
                    Map.of("mode", mode));
        }
        sessions.call(vm, "shutdown", timeout, (a, left) -> {
            a.shutdown(mode, left);
            return null;
        });
        return new GuestViews.PowerRequest(vm, mode, "sent to the guest agent");
    }

    /** The guest agent's shutdown as the way a shutdown job asks the guest (see VmManager.prepareShutdown). */
    public Runnable powerdownRequest(String vm) {
        return () -> shutdown(vm, "powerdown", DEFAULT_TIMEOUT);
    }

    // ---- commands run in the guest -------------------------------------------------------------------------------

    public GuestExec exec() {
        return exec;
    }

    /** The VM exists (vm-not-found otherwise); for routes that check before they start work. */
    public void requireVm(String vm) {
        vms.live(vm);
    }
}
