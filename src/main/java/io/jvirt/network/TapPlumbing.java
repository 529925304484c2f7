package io.jvirt.network;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.QemuLaunchSpec;
import io.jvirt.store.DocumentStore;
import io.jvirt.vm.NicPlumbing;
import io.jvirt.vm.VmDefinition;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The taps of VMs' NICs: made by the daemon before QEMU starts (recorded first, in the VM's {@code taps} document),
 * attached by name, removed when QEMU ends and, after a crash, at the next reconcile. Each tap is owned by the user
 * that VM's QEMU runs as ({@link #qemuUidOf}: its per-VM uid when confined, else root), so that QEMU can open it
 * and no other unprivileged process can.
 */
public final class TapPlumbing implements NicPlumbing {
    private static final Logger log = LoggerFactory.getLogger(TapPlumbing.class);
    static final String TAPS = "taps";
    private static final Path VHOST_NET = Path.of("/dev/vhost-net");

    /** The VM's taps, as recorded. */
    record Taps(List<Tap> taps) {
    }

    /** One tap: the NIC it serves and the bridge (and network, if any) it is attached to. */
    record Tap(String nic, String tap, String network, String bridge) {
    }

    private final NetworkService networks;
    private final DocumentStore vmStore;
    private final java.util.function.ToIntFunction<String> qemuUidOf;
    private final Map<String, Taps> live = new ConcurrentHashMap<>();

    /**
     * @param vmStore the VMs' store (the taps document lives beside the VM's definition)
     * @param qemuUid the uid every QEMU runs as, owner of every tap
     */
    public TapPlumbing(NetworkService networks, DocumentStore vmStore, int qemuUid) {
        this(networks, vmStore, vm -> qemuUid);
    }

    /**
     * @param qemuUidOf the uid a VM's QEMU will run as (asked just before its taps are made), owner of its taps
     */
    public TapPlumbing(NetworkService networks, DocumentStore vmStore, java.util.function.ToIntFunction<String> qemuUidOf) {
        this.networks = networks;
        this.vmStore = vmStore;
        this.qemuUidOf = qemuUidOf;
        for (String vm : vmStore.owners(TAPS)) {
            vmStore.get(vm, TAPS, Taps.class).ifPresent(t -> live.put(vm, t));
        }
        networks.attach(this);
    }

    /** A tap name of at most 15 characters from the VM and NIC: {@code jv-VM-NIC}, or a hashed form when too long. */
    static String tapName(String vm, String nic) {
        String plain = "jv-" + vm + "-" + nic;
        if (plain.length() <= 15) {
            return plain;
        }
        String stem = vm.replaceAll("[^A-Za-z0-9]", "");
        stem = stem.substring(0, Math.min(6, stem.length()));
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((vm + "/" + nic).getBytes(StandardCharsets.UTF_8));
            return "jv" + stem + "-" + HexFormat.of().formatHex(h).substring(0, 13 - stem.length() - 1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void checkDefinition(VmDefinition d) {
        for (VmDefinition.Nic n : d.nics()) {
            if ("network".equals(n.type())) {
                networks.find(n.network());
            }
        }
    }

    @Override
    public List<QemuLaunchSpec.Nic> prepare(VmDefinition d) {
        List<Tap> wanted = new ArrayList<>();
        for (VmDefinition.Nic n : d.nics()) {
            if ("network".equals(n.type())) {
                NetworkDefinition net = networks.find(n.network());
                if (!networks.record(net.name()).active()) {
                    throw new JvirtException(ErrorCode.INVALID_STATE, "NIC " + n.name() + ": network '" + net.name()
                            + "' is not active (net-start it)", Map.of("network", net.name(), "vm", d.name()));
                }
                wanted.add(new Tap(n.name(), tapName(d.name(), n.name()), net.name(), net.bridge()));
            } else if ("bridge".equals(n.type())) {
                var link = Links.link(n.bridge());
                if (link.isEmpty() || !link.get().isBridge()) {
                    throw new JvirtException(ErrorCode.INVALID_STATE, "NIC " + n.name() + ": " + n.bridge()
                            + (link.isEmpty() ? " does not exist" : " is not a bridge"), Map.of("bridge", n.bridge(), "vm", d.name()));
                }
                wanted.add(new Tap(n.name(), tapName(d.name(), n.name()), null, n.bridge()));
            }
        }
        boolean vhost = vhostUsable();
        for (VmDefinition.Nic n : d.nics()) {
            if (Boolean.TRUE.equals(n.vhost()) && !vhost && !"user".equals(n.type())) {
                throw new JvirtException(ErrorCode.INVALID_DEFINITION, "NIC " + n.name() + " asks for vhost-net, but "
                        + VHOST_NET + " is not usable on this host");
            }
        }
        Taps before = live.get(d.name());
        long t0 = System.nanoTime();
        if (!wanted.isEmpty()) {
            Taps record = new Taps(List.copyOf(wanted));
            vmStore.put(d.name(), TAPS, record); // named durably before any is made
            live.put(d.name(), record);
            try {
                for (Tap t : wanted) {
                    create(d.name(), t, before);
                }
            } catch (RuntimeException e) {
                release(d.name());
                throw e;
            }
            wanted.stream().map(Tap::network).filter(java.util.Objects::nonNull).distinct().forEach(networks::refreshHosts);
            log.info("VM {}: tap(s) {} ready in {} ms", d.name(), wanted.stream().map(Tap::tap).toList(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
        List<QemuLaunchSpec.Nic> out = new ArrayList<>();
        for (VmDefinition.Nic n : d.nics()) {
            if ("user".equals(n.type())) {
                out.add(NicPlumbing.userNic(n));
            } else {
                String tap = tapName(d.name(), n.name());
                out.add(new QemuLaunchSpec.Nic(n.name(), "tap", n.model(), n.mac(), tap,
                        vhost && !Boolean.FALSE.equals(n.vhost()), List.of()));
            }
        }
        return out;
    }

    /** A NIC hot-plugged into a running VM: its one tap, added to the VM's durable record before it is made. */
    @Override
    public QemuLaunchSpec.Nic prepareOne(VmDefinition d, VmDefinition.Nic n) {
        if ("user".equals(n.type())) {
            return NicPlumbing.userNic(n);
        }
        Taps before = live.getOrDefault(d.name(), vmStore.get(d.name(), TAPS, Taps.class).orElse(new Taps(List.of())));
        Tap tap = new Tap(n.name(), tapName(d.name(), n.name()), "network".equals(n.type()) ? networks.find(n.network()).name() : null,
                "network".equals(n.type()) ? networks.find(n.network()).bridge() : n.bridge());
        List<Tap> taps = new ArrayList<>(before.taps().stream().filter(t -> !t.nic().equals(n.name())).toList());
        taps.add(tap);
        Taps record = new Taps(List.copyOf(taps));
        vmStore.put(d.name(), TAPS, record); // named durably before it is made
        live.put(d.name(), record);
        try {
            create(d.name(), tap, before);
        } catch (RuntimeException e) {
            releaseOne(d.name(), n.name());
            throw e;
        }
        if (tap.network() != null) {
            networks.refreshHosts(tap.network());
        }
        return new QemuLaunchSpec.Nic(n.name(), "tap", n.model(), n.mac(), tap.tap(),
                vhostUsable() && !Boolean.FALSE.equals(n.vhost()), List.of());
    }

    /** The tap of one NIC unplugged from a running VM (idempotent). */
    @Override
    public void releaseOne(String vm, String nic) {
        Taps t = live.getOrDefault(vm, vmStore.get(vm, TAPS, Taps.class).orElse(null));
        if (t == null) {
            return;
        }
        t.taps().stream().filter(x -> x.nic().equals(nic)).forEach(x -> Links.delete(x.tap()));
        Taps rest = new Taps(t.taps().stream().filter(x -> !x.nic().equals(nic)).toList());
        vmStore.put(vm, TAPS, rest);
        live.put(vm, rest);
    }

    private void create(String vm, Tap t, Taps before) {
        Optional<Links.Link> existing = Links.link(t.tap());
        if (existing.isPresent()) {
            boolean ours = before != null && before.taps().stream().anyMatch(x -> x.tap().equals(t.tap()));
            if (!ours) {
                throw new JvirtException(ErrorCode.NETWORK_CONFLICT, "tap name " + t.tap() + " for VM " + vm + " NIC " + t.nic()
                        + " is taken by an interface that is not this VM's", Map.of("tap", t.tap()));
            }
            Links.delete(t.tap()); // left by a QEMU that crashed while no daemon watched
        }
        if (t.network() != null) {
            networks.withLock(t.network(), () -> {
                if (!networks.record(t.network()).active()) {
                    throw new JvirtException(ErrorCode.INVALID_STATE, "network '" + t.network() + "' stopped meanwhile",
                            Map.of("network", t.network()));
                }
                Links.createTap(t.tap(), qemuUidOf.applyAsInt(vm), t.bridge());
                return null;
            });
        } else {
            Links.createTap(t.tap(), qemuUidOf.applyAsInt(vm), t.bridge());
        }
    }

    @Override
    public void release(String vm) {
        Taps t = live.get(vm);
        if (t == null) {
            t = vmStore.get(vm, TAPS, Taps.class).orElse(null);
        }
        if (t == null) {
            return;
        }
        for (Tap tap : t.taps()) {
            Links.delete(tap.tap());
        }
        vmStore.remove(vm, TAPS); // after the taps are gone: a crash in between retries the deletes
        live.remove(vm);
        log.info("VM {}: removed tap(s) {}", vm, t.taps().stream().map(Tap::tap).toList());
    }

    /** Running VMs (those with taps) on a network. */
    List<String> vmsOn(String network) {
        return live.entrySet().stream().filter(e -> e.getValue().taps().stream().anyMatch(t -> network.equals(t.network())))
                .map(Map.Entry::getKey).sorted().toList();
    }

    @Override
    public List<Map<String, Object>> describe(VmDefinition d) {
        Taps t = live.get(d.name());
        List<Map<String, Object>> out = new ArrayList<>();
        for (VmDefinition.Nic n : d.nics()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", n.name());
            m.put("type", n.type());
            m.put("mac", n.mac());
            m.put("model", n.model());
            if (n.network() != null) {
                m.put("network", n.network());
            }
            if (n.bridge() != null) {
                m.put("bridge", n.bridge());
            }
            if (n.forwards() != null) {
                m.put("forwards", n.forwards());
            }
            if (t != null) {
                t.taps().stream().filter(x -> x.nic().equals(n.name())).findFirst().ifPresent(x -> {
                    m.put("tap", x.tap());
                    m.put("bridge", x.bridge());
                });
            }
            m.put("addresses", NicAddresses.of(networks, n));
            out.add(m);
        }
        return out;
    }

    @Override
    public Optional<String> hostDevice(String vm, String nic) {
        Taps t = live.get(vm);
        return t == null ? Optional.empty() : t.taps().stream().filter(x -> x.nic().equals(nic)).map(Tap::tap).findFirst();
    }

    /** vhost-net moves the virtio-net data path into the host kernel: used when the device can be opened. */
    static boolean vhostUsable() {
        return Files.isReadable(VHOST_NET) && Files.isWritable(VHOST_NET);
    }
}
