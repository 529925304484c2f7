package io.jvirt.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A throw-away OpenPGP key in its own GNUPGHOME (no passphrase), to sign test indexes the way a repository
 * publisher would with real gpg. close() stops any gpg-agent of that home (by home, not by name) and deletes it.
 */
final class TestSigningKey implements AutoCloseable {
    private final Path home;
    final Path publicKey;
    final String fingerprint;

    private TestSigningKey(Path home, Path publicKey, String fingerprint) {
        this.home = home;
        this.publicKey = publicKey;
        this.fingerprint = fingerprint;
    }

    static TestSigningKey create(String uid) throws IOException {
        Path home = Files.createTempDirectory(Path.of("/tmp"), "jvkey",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        gpg(home, "--passphrase", "", "--quick-gen-key", uid + " <" + uid + "@jvirt.invalid>", "ed25519", "sign", "never");
        String colons = gpg(home, "--with-colons", "--list-keys").stdout();
        String fpr = colons.lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
        Path pub = home.resolve("public.asc");
        gpg(home, "--armor", "--output", pub.toString(), "--export", fpr);
        return new TestSigningKey(home, pub, fpr);
    }

    Path home() {
        return home;
    }

    /** {@code gpg --clearsign} of the text, as virt-builder's index.asc. */
    byte[] clearsign(String text) throws IOException {
        Path in = Files.createTempFile(home, "index", "");
        Path out = home.resolve(in.getFileName() + ".asc");
        Files.writeString(in, text);
        gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--clearsign", "--output", out.toString(), in.toString());
        return Files.readAllBytes(out);
    }

    /** {@code gpg --detach-sign} of the text, as index.sig. */
    byte[] detachSign(String text) throws IOException {
        Path in = Files.createTempFile(home, "index", "");
        Path out = home.resolve(in.getFileName() + ".sig");
        Files.writeString(in, text);
        gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--detach-sign", "--output", out.toString(), in.toString());
        return Files.readAllBytes(out);
    }

    private static ToolRunner.Result gpg(Path home, String... args) {
        List<String> cmd = new ArrayList<>(List.of("gpg", "--batch", "--no-tty", "--homedir", home.toString()));
        cmd.addAll(List.of(args));
        ToolRunner.Result r = ToolRunner.run(cmd, null, Map.of("LC_ALL", "C"), Duration.ofMinutes(2));
        if (!r.ok()) {
            throw new AssertionError(r.describe());
        }
        return r;
    }

    @Override
    public void close() {
        ToolRunner.run(List.of("gpgconf", "--homedir", home.toString(), "--kill", "all"), null, null, Duration.ofSeconds(20));
        try (var walk = Files.walk(home)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
