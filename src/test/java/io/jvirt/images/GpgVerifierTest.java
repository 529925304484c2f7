package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real gpg: keys made on the fly, indexes clear-signed and detach-signed, and every way a signature must fail. */
class GpgVerifierTest {
    static TestSigningKey key;
    static TestSigningKey otherKey;
    static final String INDEX = "[tiny]\nname=Tiny\nfile=tiny.img\n";
    final GpgVerifier gpg = new GpgVerifier();

    @BeforeAll
    static void keys() throws Exception {
        key = TestSigningKey.create("jvirt-test");
        otherKey = TestSigningKey.create("jvirt-other");
    }

    @AfterAll
    static void dropKeys() {
        if (key != null) {
            key.close();
        }
        if (otherKey != null) {
            otherKey.close();
        }
    }

    @Test
    void acceptsAGoodClearsignedIndexAndReturnsExactlyWhatWasSigned() throws Exception {
        byte[] asc = key.clearsign(INDEX);
        byte[] plain = gpg.verifyClearsigned("s", asc, key.publicKey, null);
        assertThat(new String(plain, StandardCharsets.UTF_8)).isEqualTo(INDEX);
        assertThat(gpg.verifyClearsigned("s", asc, key.publicKey, key.fingerprint)).isEqualTo(plain);
    }

    @Test
    void refusesATamperedIndex() throws Exception {
        String asc = new String(key.clearsign(INDEX), StandardCharsets.UTF_8).replace("file=tiny.img", "file=evil.img");
        assertThatThrownBy(() -> gpg.verifyClearsigned("s", asc.getBytes(StandardCharsets.UTF_8), key.publicKey, null))
                .isInstanceOf(JvirtException.class).hasMessageContaining("changed after signing")
                .extracting(e -> ((JvirtException) e).code()).isEqualTo(ErrorCode.BAD_SIGNATURE);
    }

    @Test
    void refusesAnIndexSignedByAnotherKey() throws Exception {
        byte[] asc = otherKey.clearsign(INDEX);
        assertThatThrownBy(() -> gpg.verifyClearsigned("s", asc, key.publicKey, null))
                .isInstanceOf(JvirtException.class).hasMessageContaining("not the source's trusted key");
    }

    @Test
    void refusesAnUnsignedIndexAndUnsignedTextAroundTheSignedPart() throws Exception {
        assertThatThrownBy(() -> gpg.verifyClearsigned("s", INDEX.getBytes(StandardCharsets.UTF_8), key.publicKey, null))
                .isInstanceOf(JvirtException.class).hasMessageContaining("not validly signed");
        // text prepended outside the signed block never reaches the parser
        byte[] asc = key.clearsign(INDEX);
        String sneaky = "[evil]\nfile=evil.img\n\n" + new String(asc, StandardCharsets.UTF_8);
        byte[] plain = gpg.verifyClearsigned("s", sneaky.getBytes(StandardCharsets.UTF_8), key.publicKey, null);
        assertThat(new String(plain, StandardCharsets.UTF_8)).isEqualTo(INDEX);
    }

    @Test
    void refusesAWrongPinnedFingerprint() throws Exception {
        byte[] asc = key.clearsign(INDEX);
        assertThatThrownBy(() -> gpg.verifyClearsigned("s", asc, key.publicKey, otherKey.fingerprint))
                .hasMessageContaining("not by the configured fingerprint");
    }

    @Test
    void detachedSignatures(@TempDir Path tmp) throws Exception {
        byte[] sig = key.detachSign(INDEX);
        byte[] data = INDEX.getBytes(StandardCharsets.UTF_8);
        gpg.verifyDetached("s", data, sig, key.publicKey, key.fingerprint);
        assertThatThrownBy(() -> gpg.verifyDetached("s", (INDEX + "x").getBytes(StandardCharsets.UTF_8), sig,
                key.publicKey, null)).hasMessageContaining("changed after signing");
        assertThatThrownBy(() -> gpg.verifyDetached("s", data, otherKey.detachSign(INDEX), key.publicKey, null))
                .hasMessageContaining("not the source's trusted key");
    }

    @Test
    void refusesAMissingOrUselessKeyFile(@TempDir Path tmp) throws Exception {
        byte[] asc = key.clearsign(INDEX);
        assertThatThrownBy(() -> gpg.verifyClearsigned("s", asc, tmp.resolve("nope.asc"), null))
                .hasMessageContaining("does not exist");
        Path junk = Files.writeString(tmp.resolve("junk.asc"), "not a key");
        assertThatThrownBy(() -> gpg.verifyClearsigned("s", asc, junk, null))
                .hasMessageContaining("no usable OpenPGP public key");
    }
}
