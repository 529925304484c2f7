package io.jvirt.network;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.VmDefinition;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The networks of this host: define, start, destroy, undefine, autostart, leases. Definitions and records live in
 * their own store ({@code <state-dir>/networks}: owners are network names, apart from the VMs'). Each network has its
 * own lock, held across its start or destroy and by a VM start attaching a tap to it; never a lock shared between
 * networks, and none shared with the VMs' job slots.
 */
public final class NetworkService {
    private static final Logger log = LoggerFactory.getLogger(NetworkService.class);
    static final String DEFINITION = "definition";
    static final String STATE = "state";

    private final DocumentStore store;
    private final Path runDir;
    private final Supplier<List<VmDefinition>> vmDefinitions;
    private final Map<String, NetworkDefinition> definitions = new ConcurrentHashMap<>();
    private final Map<String, NetworkRecord> records = new ConcurrentHashMap<>();
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Object registryLock = new Object();
    final DnsmasqSupervisor supervisor = new DnsmasqSupervisor(this::dnsmasqDied);
    private volatile TapPlumbing taps;

    public NetworkService(Path stateDir, Path runDir, ObjectMapper mapper, Supplier<List<VmDefinition>> vmDefinitions)
            throws IOException {
        this.store = DocumentStore.open(stateDir.resolve("networks"), mapper);
        this.runDir = runDir.resolve("networks");
        this.vmDefinitions = vmDefinitions;
        for (String name : store.owners(DEFINITION)) {
            // a document that cannot be used is quarantined; the other networks load (docs/design-store.md)
            store.readOrQuarantine(name, DEFINITION, NetworkDefinition.class, (where, why) ->
                    log.error("network {}: definition quarantined to {} ({}); not loaded", name, where, why))
                    .ifPresent(d -> {
                        definitions.put(name, d);
                        records.put(name, store.readOrQuarantine(name, STATE, NetworkRecord.class, (where, why) ->
                                log.error("network {}: state quarantined to {} ({})", name, where, why))
                                .orElse(NetworkRecord.inactive("defined")));
                    });
        }
    }

    /** Quarantined documents and failed writes of the networks' store (for GET /v1/host). */
    public Map<String, Object> storeReport() {
        return store.report();
    }

    void attach(TapPlumbing plumbing) {
        this.taps = plumbing;
    }

    Path stateRoot() {
        return store.root();
    }

    // ---- reads -----------------------------------------------------------------------------------------

    public List<NetworkView> list() {
        return definitions.keySet().stream().sorted().map(n -> view(n, false)).toList();
    }

    public NetworkView get(String name) {
        return view(find(name).name(), true);
    }

    public List<DhcpLeases.Lease> leases(String name) {
        NetworkDefinition d = find(name);
        return d.managed() ? DhcpLeases.read(d.name(), paths(d.name()).leases()) : List.of();
    }

    NetworkDefinition find(String name) {
        NetworkValidator.checkName(name);
        NetworkDefinition d = definitions.get(name);
        if (d == null) {
            throw new JvirtException(ErrorCode.NETWORK_NOT_FOUND, "no network named '" + name + "'", Map.of("network", name));
        }
        return d;
    }

    NetworkRecord record(String name) {
        return records.getOrDefault(name, NetworkRecord.inactive("defined"));
    }

    NetworkPaths paths(String name) {
        return new NetworkPaths(runDir.resolve(name), store.ownerDir(name));
    }

    private NetworkView view(String name, boolean full) {
        NetworkDefinition d = definitions.get(name);
        NetworkRecord r = record(name);
        TapPlumbing t = taps;
        List<String> vms = t == null ? List.of() : t.vmsOn(name);
        Integer leases = d.managed() ? DhcpLeases.read(name, paths(name).leases()).size() : null;
        return new NetworkView(name, d.kind(), d.bridge(), Boolean.TRUE.equals(d.autostart()), r.status(), r.reason(),
                r.since(), full ? d : null, r.dnsmasqPid(), r.active() ? r.nftTable() : null, vms, leases);
    }

    // ---- define / undefine / autostart -----------------------------------------------------------------

    public NetworkView define(NetworkDefinition input) {
        NetworkDefinition d;
        synchronized (registryLock) { // guards the name, subnet and bridge check-and-insert only
            d = NetworkValidator.validate(input, definitions.values());
            if (definitions.containsKey(d.name())) {
                throw new JvirtException(ErrorCode.NETWORK_EXISTS, "a network named '" + d.name() + "' is already defined",
                        Map.of("network", d.name()));
            }
            if (d.managed()) {
                Links.link(d.bridge()).ifPresent(l -> {
                    throw new JvirtException(ErrorCode.NETWORK_CONFLICT, "bridge name " + l.name() + " is in use by an existing "
                            + (l.kind() == null ? "interface" : l.kind() + " interface") + " that is not jvirt's",
                            Map.of("bridge", l.name()));
                });
            }
            NetworkRecord r = NetworkRecord.inactive("defined");
            store.put(d.name(), STATE, r);
            store.put(d.name(), DEFINITION, d); // the definition's presence is what makes the network exist
            records.put(d.name(), r);
            definitions.put(d.name(), d);
        }
        log.info("network {} defined ({}, bridge {})", d.name(), d.kind(), d.bridge());
        return get(d.name());
    }

    public void undefine(String name) {
        NetworkDefinition d = find(name);
        withLock(name, () -> {
            if (!NetworkRecord.INACTIVE.equals(record(name).status())) {
                stopLocked(d, "undefined");
            }
            synchronized (registryLock) {
                store.removeOwner(name, DEFINITION);
                definitions.remove(name);
                records.remove(name);
            }
            return null;
        });
        log.info("network {} undefined", name);
    }

    public NetworkView autostart(String name, boolean on) {
        NetworkDefinition d = find(name);
        withLock(name, () -> {
            NetworkDefinition changed = d.withAutostart(on);
            store.put(name, DEFINITION, changed);
            definitions.put(name, changed);
            return null;
        });
        return get(name);
    }

    // ---- start / destroy -------------------------------------------------------------------------------

    public NetworkView start(String name) {
        NetworkDefinition d = find(name);
        withLock(name, () -> {
            if (record(name).active()) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "network '" + name + "' is already active",
                        Map.of("network", name, "state", NetworkRecord.ACTIVE));
            }
            startLocked(d);
            return null;
        });
        return get(name);
    }

    /** With the lock held: checks the host, then creates; the record follows every step. */
    void startLocked(NetworkDefinition d) {
        NetworkRecord previous = record(d.name());
        NetworkLifecycle.checkHost(d, previous);
        long t0 = System.nanoTime();
        Process p = NetworkLifecycle.start(d, paths(d.name()), previous, r -> put(d.name(), r), hostLines(d));
        if (p != null) {
            supervisor.watchChild(d.name(), p);
        }
        log.info("network {} started in {} ms (bridge {}{})", d.name(), (System.nanoTime() - t0) / 1_000_000, d.bridge(),
                p == null ? "" : ", dnsmasq " + p.pid());
    }

    public NetworkView destroy(String name) {
        NetworkDefinition d = find(name);
        withLock(name, () -> {
            if (NetworkRecord.INACTIVE.equals(record(name).status())) {
                throw new JvirtException(ErrorCode.INVALID_STATE, "network '" + name + "' is not active",
                        Map.of("network", name, "state", NetworkRecord.INACTIVE));
            }
            stopLocked(d, "destroyed");
            return null;
        });
        return get(name);
    }

    private void stopLocked(NetworkDefinition d, String why) {
        List<String> users = taps == null ? List.of() : taps.vmsOn(d.name());
        if (!users.isEmpty()) {
            throw new JvirtException(ErrorCode.NETWORK_IN_USE, "network '" + d.name() + "' is in use by running VM(s) "
                    + String.join(", ", users) + " (shut them down first)", Map.of("network", d.name(), "vms", users));
        }
        NetworkRecord r = record(d.name());
        supervisor.forget(d.name());
        put(d.name(), r.withStatus(NetworkRecord.STOPPING, why));
        NetworkLifecycle.teardown(d, paths(d.name()), r);
        put(d.name(), NetworkRecord.inactive(why));
        log.info("network {} {}", d.name(), why);
    }

    // ---- dnsmasq supervision ---------------------------------------------------------------------------

    /** dnsmasq of an active network died: start it again (same config, same lease file) unless it keeps dying. */
    private void dnsmasqDied(String name, long pid) {
        NetworkDefinition d = definitions.get(name);
        if (d == null) {
            return;
        }
        withLock(name, () -> {
            NetworkRecord r = record(name);
            if (!r.active() || r.dnsmasqPid() == null || r.dnsmasqPid() != pid) {
                return null; // stopped meanwhile, or already replaced
            }
            if (!supervisor.mayRestart(name)) {
                log.error("network {}: dnsmasq died {} times within {}; not restarting it", name,
                        DnsmasqSupervisor.MAX_RESTARTS, DnsmasqSupervisor.RESTART_WINDOW);
                put(name, r.withDnsmasq(null).withStatus(NetworkRecord.ACTIVE, "dnsmasq keeps dying; net-destroy and net-start it"));
                return null;
            }
            try {
                Dnsmasq.writeHosts(paths(name), hostLines(d));
                Process p = Dnsmasq.start(paths(name));
                put(name, r.withDnsmasq(p.pid()).withStatus(NetworkRecord.ACTIVE, "dnsmasq restarted"));
                supervisor.watchChild(name, p);
                log.info("network {}: dnsmasq restarted as {}", name, p.pid());
            } catch (RuntimeException e) {
                log.error("network {}: cannot restart dnsmasq: {}", name, e.getMessage());
                put(name, r.withDnsmasq(null).withStatus(NetworkRecord.ACTIVE, "dnsmasq down: " + e.getMessage()));
            }
            return null;
        });
    }

    /** Rewrites the DHCP hosts file (names and static leases of the VMs on the network) and tells dnsmasq. */
    void refreshHosts(String name) {
        withLock(name, () -> {
            NetworkDefinition d = definitions.get(name);
            NetworkRecord r = record(name);
            if (d == null || !d.managed() || !r.active()) {
                return null;
            }
            if (Dnsmasq.writeHosts(paths(name), hostLines(d)) && r.dnsmasqPid() != null) {
                Dnsmasq.reload(r.dnsmasqPid(), paths(name)); // only when a name or static lease changed
            }
            return null;
        });
    }

    /** dnsmasq's dhcp-hostsfile lines: {@code MAC[,IP][,NAME]} for static hosts and each VM's NIC on the network. */
    List<String> hostLines(NetworkDefinition d) {
        return DhcpHosts.lines(d, vmDefinitions.get());
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    void put(String name, NetworkRecord r) {
        store.put(name, STATE, r); // durable before anyone acts on it
        records.put(name, r);
    }

    <T> T withLock(String name, Supplier<T> body) {
        ReentrantLock lock = locks.computeIfAbsent(name, n -> new ReentrantLock());
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    List<NetworkDefinition> definitions() {
        return new ArrayList<>(definitions.values()).stream().sorted(Comparator.comparing(NetworkDefinition::name)).toList();
    }

    public void close() throws IOException {
        store.close();
    }
}
