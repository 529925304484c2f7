package io.jvirt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether KVM really runs a guest on this host.
 *
 * <p>/dev/kvm opening, and QMP saying KVM is enabled, are not enough: under some nested hypervisors a stock
 * kernel dies early with "KVM internal error ... emulation failure". So the probe boots a real kernel under KVM
 * once and waits for it to print its ready line. The verdict is cached (keyed by QEMU binary, host kernel and
 * probe kernel) so the cost is paid once per host, not per start.
 */
public final class AccelProbe {
    private static final Logger log = LoggerFactory.getLogger(AccelProbe.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.time.Duration SILENCE_LIMIT = java.time.Duration.ofSeconds(8);

    public static final String DEFAULT_READY_MARKER = "JVIRT-GUEST-READY";

    private AccelProbe() {
    }

    /** Probe inputs: a kernel (and optional initrd) that prints {@code readyMarker} on ttyS0 once booted. */
    public record Probe(Path emulator, Path kernel, Path initrd, String readyMarker, Path cacheFile) {
    }

    public record Verdict(Accelerator accel, String why) {
    }

    public static Verdict decide(Probe probe) {
        Path kvm = Path.of("/dev/kvm");
        if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            return new Verdict(Accelerator.TCG, "/dev/kvm is not usable");
        }
        if (probe.kernel() == null || !Files.isRegularFile(probe.kernel())) {
            return new Verdict(Accelerator.TCG, "no probe kernel to check that KVM really runs a guest");
        }
        String key = cacheKey(probe);
        Verdict cached = readCache(probe.cacheFile(), key);
        if (cached != null) {
            return cached;
        }
        Verdict v = bootUnderKvm(probe);
        writeCache(probe.cacheFile(), key, v);
        return v;
    }

    static Verdict bootUnderKvm(Probe probe) {
        List<String> cmd = new java.util.ArrayList<>(List.of(probe.emulator().toString(),
                "-accel", "kvm", "-machine", "q35", "-m", "128", "-smp", "1", "-nodefaults", "-no-user-config",
                "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", probe.kernel().toString(),
                "-append", "console=ttyS0 panic=-1"));
        if (probe.initrd() != null) {
            cmd.addAll(List.of("-initrd", probe.initrd().toString()));
        }
        long t0 = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            return new Verdict(Accelerator.TCG, "cannot run QEMU for the KVM probe: " + e.getMessage());
        }
        AtomicReference<String> outcome = new AtomicReference<>();
        String qemuPrefix = probe.emulator().getFileName() + ":";
        java.util.concurrent.CountDownLatch firstLine = new java.util.concurrent.CountDownLatch(1);
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!line.startsWith(qemuPrefix)) {
                        firstLine.countDown(); // the guest's own output, not a QEMU warning on stderr
                    }
                    if (line.contains(probe.readyMarker())) {
                        outcome.compareAndSet(null, "ok");
                        break;
                    }
                    if (line.contains("KVM internal error") || line.contains("emulation failure")) {
                        outcome.compareAndSet(null, "KVM failed to run the probe guest: " + line.strip());
                        break;
                    }
                }
            } catch (IOException ignored) {
                // the process went away
            }
        });
        try {
            // A kernel that runs prints its banner within milliseconds under KVM (and within a second or two under
            // TCG). The broken nested KVM seen on CI machines prints nothing and fails ~50 s later, so silence
            // is the early verdict.
            if (!firstLine.await(SILENCE_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
                outcome.compareAndSet(null, "the probe guest printed nothing under KVM within "
                        + SILENCE_LIMIT.toSeconds() + " s");
            } else {
                reader.join(java.time.Duration.ofSeconds(30));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        String result = outcome.get();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Verdict v = "ok".equals(result)
                ? new Verdict(Accelerator.KVM, "a guest booted under KVM in " + ms + " ms")
                : new Verdict(Accelerator.TCG, result != null ? result : "the probe guest did not boot under KVM within 30 s");
        log.info("KVM probe: {} -> {}", v.why(), v.accel());
        return v;
    }

    private static String cacheKey(Probe probe) {
        try {
            String hostKernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
            return String.join("|", probe.emulator().toRealPath().toString(),
                    Long.toString(Files.getLastModifiedTime(probe.emulator().toRealPath()).toMillis()),
                    hostKernel, probe.kernel().toString(), Long.toString(Files.size(probe.kernel())));
        } catch (IOException e) {
            return "uncacheable";
        }
    }

    private static Verdict readCache(Path file, String key) {
        if (file == null || !Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (key.equals(n.path("key").asText())) {
                return new Verdict(Accelerator.parse(n.path("accel").asText()), n.path("why").asText() + " (cached)");
            }
        } catch (IOException | IllegalArgumentException e) {
            log.debug("ignoring unreadable probe cache {}: {}", file, e.toString());
        }
        return null;
    }

    private static void writeCache(Path file, String key, Verdict v) {
        if (file == null || "uncacheable".equals(key)) {
            return;
        }
        ObjectNode n = JSON.createObjectNode().put("key", key).put("accel", v.accel().qemuName()).put("why", v.why());
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            Files.writeString(tmp, n.toString());
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            log.warn("cannot cache the KVM probe verdict in {}: {}", file, e.toString());
        }
    }
}
