package io.jvirt.migration;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.files.FileModes;
import io.jvirt.tls.TlsDir;
import io.jvirt.vm.Confinement;
import io.jvirt.vm.VmJobContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * QEMU's TLS credentials for one migration (its {@code tls-creds-x509} object), handed to the VM's QEMU only for
 * the moment it loads them. A confined QEMU runs as a uid of its own and cannot read the host's key in
 * {@code --tls-dir} (0600, root's), and that directory is outside what a VM may be given (docs/security.md). So the
 * files are copied into the VM's own run directory (0700 directory, 0600 files), granted to its QEMU, loaded by
 * {@code object-add} (QEMU reads them when the object is created), and removed again at once: no copy of the host
 * key outlives the call.
 */
final class QemuTlsFiles {
    private QemuTlsFiles() {
    }

    /** Runs {@code load} with a directory holding QEMU's file names (ca-cert.pem, server-*.pem, client-*.pem). */
    static void withStaged(VmJobContext ctx, TlsDir tls, java.util.function.Consumer<Path> load) {
        Path run = ctx.qemu().orElseThrow(() -> new JvirtException(ErrorCode.INVALID_STATE,
                "VM '" + ctx.vmName() + "' has no running QEMU to give TLS credentials to")).paths().runDir();
        Path dir = run.resolve("migration-tls");
        try {
            delete(dir); // one a crash left
            FileModes.createDirectories(dir, FileModes.PRIVATE_DIR);
            for (String name : TlsDir.qemuLinks().keySet()) {
                Path from = tls.qemuDir().resolve(name);
                if (!Files.exists(from)) {
                    continue;
                }
                Path to = dir.resolve(name);
                FileModes.write(to, Files.readAllBytes(from), FileModes.PRIVATE_FILE);
                ctx.grantToQemu(to, Confinement.Access.READ);
            }
        } catch (IOException e) {
            throw new JvirtException(ErrorCode.INTERNAL, "cannot stage QEMU's TLS credentials in " + dir + ": "
                    + e.getMessage());
        }
        try {
            load.accept(dir);
        } finally {
            try {
                delete(dir);
            } catch (IOException e) {
                org.slf4j.LoggerFactory.getLogger(QemuTlsFiles.class).warn("VM {}: cannot remove {}: {}",
                        ctx.vmName(), dir, e.getMessage());
            }
        }
    }

    private static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
