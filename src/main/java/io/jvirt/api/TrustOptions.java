package io.jvirt.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * jvirtd's trust-boundary options (docs/security.md), a picocli mixin so the daemon's own option list stays short:
 * listeners and who reaches them, browser safety, the paths QEMU may be given, and QEMU's identity.
 */
final class TrustOptions {
    @Option(names = "--listen", paramLabel = "tls://ADDR[:PORT]", description = "Also serve the API remotely over "
            + "mutual TLS (client certificates required; default port 16514). There is no plain TCP.")
    String listen;

    @Option(names = "--tls-dir", paramLabel = "DIR", defaultValue = "/etc/jvirt/tls", description = "ca.pem, "
            + "server.pem, server-key.pem (and revoked) for --listen, as 'jvirt pki' writes them. Default: ${DEFAULT-VALUE}")
    Path tlsDir;

    @Option(names = "--ro-socket", paramLabel = "PATH", description = "Read-only API socket (mode 0666: every GET "
            + "and the event stream). Default: <run-dir>/jvirtd-ro.sock")
    Path roSocket;

    @Option(names = "--no-ro-socket", description = "Do not serve the read-only socket.")
    boolean noRoSocket;

    @Option(names = "--socket-group", paramLabel = "GROUP", description = "Group of the read-write socket "
            + "(mode 0660; its members are root's equals). Default: the daemon's group.")
    String socketGroup;

    @Option(names = "--allow-origin", paramLabel = "ORIGIN", description = "A web origin (e.g. https://ui.example) "
            + "whose requests are served; repeatable. Default: none, every request carrying an Origin is refused.")
    List<String> allowOrigins = new ArrayList<>();

    @Option(names = "--allow-dir", paramLabel = "DIR", description = "A directory whose files may be disks, kernels "
            + "and initrds besides the pools; repeatable (never a system directory).")
    List<Path> allowDirs = new ArrayList<>();

    @Option(names = "--allow-device", paramLabel = "DEV", description = "A block device that may be a disk; repeatable.")
    List<Path> allowDevices = new ArrayList<>();

    @Option(names = "--qemu-uids", paramLabel = "FIRST-LAST", defaultValue = "70000-70255", description = "Numeric "
            + "uids QEMU runs as, one per running VM, gid the same number (no passwd entries needed; refused if an "
            + "entry or /etc/subuid uses one). Default: ${DEFAULT-VALUE}")
    String qemuUids;

    @Option(names = "--no-confine", description = "Run QEMU as the daemon's user (root) without per-VM uids or "
            + "labels: high privileges, reported by 'jvirt info' (benchmarks, hosts without setpriv or ACLs).")
    boolean noConfine;

    /**
     * What QEMU may touch and who it runs as; the pools' directories are part of the path policy, and so are the
     * directories {@code allowed} holds now (the --allow-dir ones, changed at run time by {@code jvirt admin allow-dir}).
     */
    io.jvirt.confine.VmConfinement confinement(Path stateDir, Path runDir, io.jvirt.storage.PoolManager pools,
            Path emulator, io.jvirt.confine.PathPolicy allowed) {
        int[] range = io.jvirt.confine.QemuIds.parseRange(qemuUids);
        io.jvirt.confine.VmConfinement c = io.jvirt.confine.VmConfinement.open(new io.jvirt.confine.VmConfinement.Settings(
                stateDir, runDir, allowed::allowedDirs, allowDevices, () -> {
                    java.util.Map<String, Path> m = new java.util.LinkedHashMap<>();
                    pools.list().forEach(p -> m.put(p.name(), p.path()));
                    return m;
                }, new io.jvirt.storage.QemuImg()), range[0], range[1], emulator, noConfine);
        pools.setRootCheck(c::checkPoolRoot);
        return c;
    }

    /** The --allow-dir directories, each checked (never a system directory), for the admin API to change later. */
    io.jvirt.confine.PathPolicy allowedDirs(Path stateDir, Path runDir) {
        io.jvirt.confine.PathPolicy.Builder b = io.jvirt.confine.PathPolicy.builder().stateDir(stateDir).stateDir(runDir);
        allowDirs.forEach(b::allowDir);
        return b.build();
    }

    ApiConnectors.Endpoints endpoints(Path socket, Path runDir) {
        ApiConnectors.TlsListen tls = listen == null || listen.isBlank() ? null
                : ApiConnectors.TlsListen.parse(listen, tlsDir);
        Path ro = noRoSocket ? null : roSocket != null ? roSocket : runDir.resolve("jvirtd-ro.sock");
        return new ApiConnectors.Endpoints(socket, ro, socketGroup, tls, new LinkedHashSet<>(allowOrigins));
    }
}
