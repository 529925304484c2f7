package io.jvirt.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Checks an index signature with GnuPG against exactly one trusted key file. Each verification gets a fresh,
 * throw-away GNUPGHOME holding only that key, so the user's own keyring (or another source's key) can never make a
 * signature pass. The verdict comes from gpg's machine-readable status lines, not from its exit code alone.
 */
public final class GpgVerifier {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private final String gpg;

    public GpgVerifier() {
        this("gpg");
    }

    public GpgVerifier(String gpg) {
        this.gpg = gpg;
    }

    /**
     * Verifies a clear-signed text ({@code index.asc}) and returns what was signed, as gpg extracted it: only those
     * bytes may be parsed, never the envelope, so unsigned text around the signed part cannot sneak in.
     *
     * @param fingerprint if not null, the signing key (primary or subkey) must have this fingerprint
     */
    public byte[] verifyClearsigned(String source, byte[] signed, Path keyFile, String fingerprint) {
        Path home = newHome();
        try {
            importKey(source, home, keyFile);
            Path in = home.resolve("index.asc");
            Path out = home.resolve("index.out");
            Files.write(in, signed);
            ToolRunner.Result r = gpg(home, List.of("--status-fd", "1", "--output", out.toString(), "--decrypt",
                    in.toString()));
            checkStatus(source, r, fingerprint);
            return Files.readAllBytes(out);
        } catch (IOException e) {
            throw ImageException.badSignature(source, "cannot check: " + e.getMessage());
        } finally {
            discard(home);
        }
    }

    /** Verifies a detached signature ({@code index.sig}) over {@code data}. */
    public void verifyDetached(String source, byte[] data, byte[] signature, Path keyFile, String fingerprint) {
        Path home = newHome();
        try {
            importKey(source, home, keyFile);
            Path dataFile = home.resolve("index");
            Path sigFile = home.resolve("index.sig");
            Files.write(dataFile, data);
            Files.write(sigFile, signature);
            ToolRunner.Result r = gpg(home, List.of("--status-fd", "1", "--verify", sigFile.toString(),
                    dataFile.toString()));
            checkStatus(source, r, fingerprint);
        } catch (IOException e) {
            throw ImageException.badSignature(source, "cannot check: " + e.getMessage());
        } finally {
            discard(home);
        }
    }

    private void importKey(String source, Path home, Path keyFile) {
        if (keyFile == null || !Files.isRegularFile(keyFile)) {
            throw ImageException.badSignature(source, "the trusted key file " + keyFile + " does not exist");
        }
        ToolRunner.Result r = gpg(home, List.of("--status-fd", "1", "--import", keyFile.toString()));
        if (!r.ok() || !r.stdout().contains("[GNUPG:] IMPORT_OK")) {
            throw ImageException.badSignature(source, "the trusted key file " + keyFile
                    + " holds no usable OpenPGP public key (" + r.describe() + ")");
        }
    }

    /** Exactly one good, valid signature by the imported key, nothing bad, and the fingerprint if one was given. */
    private static void checkStatus(String source, ToolRunner.Result r, String fingerprint) {
        List<String> good = new ArrayList<>();
        List<String> valid = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            if (!line.startsWith("[GNUPG:] ")) {
                continue;
            }
            String[] f = line.substring(9).trim().split(" ");
            switch (f[0]) {
                case "GOODSIG" -> good.add(line);
                case "VALIDSIG" -> valid.add(line);
                case "BADSIG" -> throw ImageException.badSignature(source, "the signature does not match the index "
                        + "(it was changed after signing)");
                case "ERRSIG", "NO_PUBKEY" -> throw ImageException.badSignature(source, "it is signed by key "
                        + (f.length > 1 ? f[1] : "?") + ", which is not the source's trusted key");
                case "EXPKEYSIG", "REVKEYSIG", "EXPSIG" -> throw ImageException.badSignature(source,
                        "the signature or its key is expired or revoked (" + f[0] + ")");
                case "NODATA" -> throw ImageException.badSignature(source, "it holds no OpenPGP signature (unsigned?)");
                default -> {
                }
            }
        }
        if (!r.ok() || good.size() != 1 || valid.size() != 1) {
            throw ImageException.badSignature(source, good.isEmpty()
                    ? "no valid signature found (" + r.describe() + ")"
                    : "expected exactly one signature, found " + good.size());
        }
        if (fingerprint != null && !fingerprint.isBlank()) {
            String want = fingerprint.replace(" ", "").toUpperCase(Locale.ROOT);
            String[] f = valid.get(0).substring(9).trim().split(" ");
            String signing = f[1];
            String primary = f[f.length - 1];
            if (!want.equals(signing) && !want.equals(primary)) {
                throw ImageException.badSignature(source, "signed by " + primary + ", not by the configured fingerprint "
                        + want);
            }
        }
    }

    private ToolRunner.Result gpg(Path home, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(gpg, "--batch", "--no-tty", "--no-auto-key-retrieve",
                "--homedir", home.toString()));
        cmd.addAll(args);
        return ToolRunner.run(cmd, null, java.util.Map.of("LC_ALL", "C"), TIMEOUT);
    }

    /** Short path under /tmp: gpg puts agent sockets in the home, and socket paths are limited to ~100 bytes. */
    private static Path newHome() {
        try {
            return Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "jvgpg",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw ImageException.tool("cannot create a temporary GNUPGHOME: " + e.getMessage());
        }
    }

    private void discard(Path home) {
        // gpg may have started an agent for this home; stop it by its home, not by name.
        try {
            ToolRunner.run(List.of("gpgconf", "--homedir", home.toString(), "--kill", "all"), null, null,
                    Duration.ofSeconds(20));
        } catch (RuntimeException ignored) {
            // no gpgconf: nothing was started either
        }
        try (Stream<Path> walk = Files.walk(home)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
