package io.jvirt.network;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.ProcessInfo;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One dnsmasq per managed network: DHCP (dynamic range, static leases, names for VMs) and DNS for its domain,
 * bound to the network's bridge only. It runs in the foreground in its own session (it outlives the daemon, like
 * QEMU) with its own config, pid file and lease file; a daemon adopts it by pid and by its command line naming
 * this network's config file.
 */
final class Dnsmasq {
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final long READY_SECONDS = 10;

    private Dnsmasq() {
    }

    /** The config file's text; every value in it passed {@link NetworkValidator}. */
    static String config(NetworkDefinition d, NetworkPaths paths) {
        StringBuilder b = new StringBuilder();
        b.append("# written by jvirtd for network ").append(d.name()).append(" at each start\n");
        b.append("pid-file=").append(paths.pidFile()).append('\n');
        b.append("log-facility=").append(paths.dnsmasqLog()).append('\n');
        b.append("interface=").append(d.bridge()).append('\n');
        b.append("bind-dynamic\nexcept-interface=lo\nno-hosts\nstrict-order\ndomain-needed\n");
        b.append("domain=").append(d.domain()).append('\n');
        b.append("local=/").append(d.domain()).append("/\n"); // names of the network never go upstream
        if (d.forwarders() != null) {
            b.append("no-resolv\n");
            d.forwarders().forEach(f -> b.append("server=").append(f).append('\n'));
        }
        b.append("dhcp-authoritative\n");
        b.append("dhcp-leasefile=").append(paths.leases()).append('\n');
        b.append("dhcp-hostsfile=").append(paths.hostsFile()).append('\n');
        if (d.ipv4() != null) {
            Cidr c = Cidr.parse(d.ipv4().address());
            if (d.ipv4().dhcp() != null) {
                NetworkDefinition.Range r = d.ipv4().dhcp();
                b.append("dhcp-range=").append(r.start()).append(',').append(r.end()).append(',').append(c.netmask()).append(",1h\n");
                BigInteger span = Cidr.span(Cidr.literal(r.start()), Cidr.literal(r.end()));
                b.append("dhcp-lease-max=").append(span.min(BigInteger.valueOf(65535))).append('\n');
            } else if (d.hosts() != null) {
                b.append("dhcp-range=").append(c.at(0).getHostAddress()).append(",static,").append(c.netmask()).append(",1h\n");
            }
            if (NetworkDefinition.NAT.equals(d.kind())) {
                b.append("dhcp-option=option:router,").append(c.host()).append('\n');
            } else {
                b.append("dhcp-option=option:router\n"); // isolated: guests get no way out
            }
        }
        if (d.ipv6() != null) {
            Cidr c = Cidr.parse(d.ipv6().address());
            b.append("enable-ra\n");
            if (d.ipv6().dhcp() != null) {
                b.append("dhcp-range=").append(d.ipv6().dhcp().start()).append(',').append(d.ipv6().dhcp().end())
                        .append(',').append(c.prefix()).append(",1h\n");
            } else {
                b.append("dhcp-range=").append(c.at(0).getHostAddress()).append(",ra-only,").append(c.prefix()).append('\n');
            }
        }
        if (userExists("dnsmasq") && reachableByOthers(paths.runDir())) {
            b.append("user=dnsmasq\n"); // it re-reads the hosts file (SIGHUP) after dropping root
        }
        return b.toString();
    }

    /** Writes the config and an empty hosts file if there is none yet; the lease file's directory must exist. */
    static void writeConfig(NetworkDefinition d, NetworkPaths paths) {
        try {
            Files.createDirectories(paths.runDir());
            Files.createDirectories(paths.stateDir());
            Files.writeString(paths.dnsmasqConf(), config(d, paths));
            if (!Files.exists(paths.hostsFile())) {
                Files.writeString(paths.hostsFile(), "");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the dnsmasq files of network " + d.name(), e);
        }
    }

    /** The marker that makes a pid ours: dnsmasq's command line names this config file. */
    static String marker(NetworkPaths paths) {
        return "--conf-file=" + paths.dnsmasqConf();
    }

    /**
     * Starts dnsmasq and waits until it wrote its pid file (its sockets are bound by then) or exited; a failure
     * carries dnsmasq's own words.
     */
    static Process start(NetworkPaths paths) {
        List<String> argv = new ArrayList<>();
        if (Files.isExecutable(SETSID)) {
            argv.add(SETSID.toString()); // same pid, its own session: a Ctrl-C or the daemon's death does not reach it
        }
        argv.addAll(List.of(HostCommand.locate("dnsmasq"), "--keep-in-foreground", marker(paths)));
        Path out = paths.runDir().resolve("dnsmasq.out");
        Process p;
        try {
            Files.deleteIfExists(paths.pidFile());
            Files.writeString(out, "");
            ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.environment().put("LC_ALL", "C");
            p = pb.start();
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.NETWORK_FAILED, "cannot start dnsmasq: " + e.getMessage());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_SECONDS);
        while (pidFromFile(paths).orElse(-1L) != p.pid()) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                String words;
                try {
                    p.waitFor(5, TimeUnit.SECONDS);
                    words = Files.readString(out).strip();
                } catch (IOException | InterruptedException e) {
                    words = e.toString();
                }
                throw new JvirtException(ErrorCode.NETWORK_FAILED, "dnsmasq did not start"
                        + (p.isAlive() ? " within " + READY_SECONDS + " s" : "") + ": " + words, Map.of("tool", "dnsmasq"));
            }
            try {
                Thread.sleep(5); // the pid file appears once its sockets are bound: nothing else to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new JvirtException(ErrorCode.NETWORK_FAILED, "interrupted while starting dnsmasq");
            }
        }
        return p;
    }

    static Optional<Long> pidFromFile(NetworkPaths paths) {
        try {
            return Optional.of(Long.parseLong(Files.readString(paths.pidFile()).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    static boolean isOurs(long pid, NetworkPaths paths) {
        return ProcessInfo.isOurs(pid, marker(paths));
    }

    /** dnsmasq re-reads its DHCP hosts file on SIGHUP (names and static leases of VMs). */
    static void reload(long pid, NetworkPaths paths) {
        if (!isOurs(pid, paths)) {
            return;
        }
        try {
            HostCommand.check("kill", "-HUP", Long.toString(pid)); // the JDK sends only SIGTERM and SIGKILL
        } catch (RuntimeException e) {
            // names and static leases wait for the next restart of dnsmasq; the VM's start does not fail for it
            org.slf4j.LoggerFactory.getLogger(Dnsmasq.class).warn("cannot make dnsmasq {} re-read {}: {}", pid,
                    paths.hostsFile(), e.getMessage());
        }
    }

    /** SIGTERM, SIGKILL after 5 s; returns once it is gone. Never signals a pid that is not this network's dnsmasq. */
    static void stop(long pid, NetworkPaths paths) {
        if (!isOurs(pid, paths)) {
            return;
        }
        ProcessHandle.of(pid).ifPresent(h -> {
            h.destroy();
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessInfo.isRunning(pid) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5); // an adopted process is not our child: its exit is seen as it leaves /proc
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Replaces the hosts file atomically; false (nothing written) when it already says exactly this. */
    static boolean writeHosts(NetworkPaths paths, List<String> lines) {
        String text = lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
        try {
            if (Files.exists(paths.hostsFile()) && Files.readString(paths.hostsFile()).equals(text)) {
                return false;
            }
            Path tmp = paths.hostsFile().resolveSibling("dhcp-hosts.tmp");
            Files.writeString(tmp, text);
            Files.move(tmp, paths.hostsFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + paths.hostsFile(), e);
        }
    }

    /**
     * dnsmasq drops root after start and must still read its hosts file then; when a directory above it is closed
     * to other users (e.g. a private temporary root) it keeps root instead, and says so in the daemon's log.
     */
    static boolean reachableByOthers(Path dir) {
        for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
            try {
                if (Files.exists(p) && !Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    org.slf4j.LoggerFactory.getLogger(Dnsmasq.class).warn("dnsmasq keeps running as root: {} is closed to "
                            + "other users, so user dnsmasq could not re-read {}", p, dir);
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    private static boolean userExists(String user) {
        try {
            return Files.readAllLines(Path.of("/etc/passwd")).stream().anyMatch(l -> l.startsWith(user + ":"));
        } catch (IOException e) {
            return false;
        }
    }
}
