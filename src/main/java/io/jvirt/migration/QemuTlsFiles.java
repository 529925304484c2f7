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
 *
 * <p>A server endpoint (the destination's incoming migration and NBD export) without a {@code dh-params.pem} makes
 * QEMU generate 2048-bit Diffie-Hellman parameters at every {@code object-add}: 270-390 ms measured on this host,
 * the largest part of Prepare (bench/README.md). They serve only TLS 1.2's DHE key exchange (TLS 1.3 uses its own
 * named groups), so the standard RFC 7919 group ffdhe2048 is staged instead, unless the host's QEMU directory has a
 * {@code dh-params.pem} of its own. The group is public by design: nothing secret is lost by not generating it.
 */
final class QemuTlsFiles {
    static final String DH_PARAMS = "dh-params.pem";
    /** RFC 7919 ffdhe2048 (PKCS #3), as {@code openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048}. */
    static final String FFDHE2048 = """
            -----BEGIN DH PARAMETERS-----
            MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
            +8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
            87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
            YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
            7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
            ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
            -----END DH PARAMETERS-----
            """;

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
            java.util.List<Path> staged = new java.util.ArrayList<>();
            for (String name : TlsDir.qemuLinks().keySet()) {
                Path from = tls.qemuDir().resolve(name);
                if (!Files.exists(from)) {
                    continue;
                }
                Path to = dir.resolve(name);
                FileModes.write(to, Files.readAllBytes(from), FileModes.PRIVATE_FILE);
                staged.add(to);
            }
            Path ownDh = tls.qemuDir().resolve(DH_PARAMS);
            Path dh = dir.resolve(DH_PARAMS);
            FileModes.write(dh, Files.exists(ownDh) ? Files.readAllBytes(ownDh)
                    : FFDHE2048.getBytes(java.nio.charset.StandardCharsets.US_ASCII), FileModes.PRIVATE_FILE);
            staged.add(dh);
            // one grant for all six: each grant is a durable record plus getfacl and setfacl (about 8 ms a file here)
            ctx.grantToQemu(staged, Confinement.Access.READ);
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
