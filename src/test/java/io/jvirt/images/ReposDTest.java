package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.api.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virt-builder-style {@code <state-dir>/repos.d/*.conf} files, read from real files in a temporary state dir. */
class ReposDTest {
    static final String FPR = "0123456789ABCDEF0123456789ABCDEF01234567";

    static List<String> problems(ReposD.Result r) {
        return r.problems().stream().map(ReposD.Problem::toString).toList();
    }

    @Test
    void readsVirtBuildersOwnFilesAndJvirtsKeys(@TempDir Path state) throws Exception {
        Path d = Files.createDirectories(state.resolve("repos.d"));
        // exactly the shape virt-builder ships in /etc/virt-builder/repos.d/libguestfs.conf
        Files.writeString(d.resolve("libguestfs.conf"), """
                [libguestfs.org]
                uri=http://builder.libguestfs.org/index.asc
                gpgkey=file:///etc/virt-builder/repos.d/libguestfs.gpg

                [archive.libguestfs.org]
                uri=http://archive.libguestfs.org/builder/index.asc
                gpgkey=file:///etc/virt-builder/repos.d/libguestfs.gpg
                """);
        Files.writeString(d.resolve("local.conf"), """
                # a comment
                [local]
                uri=file:///srv/templates/index
                gpgkey=keys/local.asc
                fingerprint=0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567
                proxy=off
                format=native

                [off]
                uri=https://example.invalid/index.asc
                gpgkey=file:///k.asc
                enabled=false
                """);
        Files.writeString(d.resolve("README"), "not a .conf file: [ignored\n");

        ReposD.Result r = ReposD.read(d);
        assertThat(r.sources()).extracting(ImageSource::name)
                .containsExactly("libguestfs.org", "archive.libguestfs.org", "local");
        assertThat(r.sources().get(0).keyFile()).isEqualTo(Path.of("/etc/virt-builder/repos.d/libguestfs.gpg"));
        assertThat(r.sources().get(0).clearsigned()).isTrue();
        ImageSource local = r.sources().get(2);
        assertThat(local.uri().toString()).isEqualTo("file:///srv/templates/index");
        assertThat(local.clearsigned()).isFalse();
        assertThat(local.keyFile()).isEqualTo(d.toAbsolutePath().resolve("keys/local.asc"));
        assertThat(local.fingerprint()).isEqualTo(FPR);
        // proxy= is a note, not an error: the source is still there
        assertThat(problems(r)).singleElement().asString()
                .isEqualTo(d.resolve("local.conf") + ":6: note: [local] proxy=off is ignored: jvirtd fetches every source "
                        + "through the JVM's own proxy settings (-Dhttp(s).proxyHost, none by default)");
        // and the real files virt-builder ships parse, if installed
        Path shipped = Path.of("/etc/virt-builder/repos.d");
        if (Files.isDirectory(shipped)) {
            ReposD.Result system = ReposD.read(shipped);
            assertThat(system.problems()).isEmpty();
            assertThat(system.sources()).isNotEmpty();
        }
    }

    @Test
    void aBadFileOrSectionIsReportedWithFileAndLineAndTheOthersStillLoad(@TempDir Path state) throws Exception {
        Path d = Files.createDirectories(state.resolve("repos.d"));
        Files.writeString(d.resolve("a-good.conf"), """
                [good]
                uri=https://example.invalid/good/index.asc
                gpgkey=file:///keys/good.asc
                """);
        Files.writeString(d.resolve("b-syntax.conf"), """
                [fine]
                uri=https://example.invalid/fine/index.asc
                gpgkey=file:///keys/fine.asc
                this line is not key=value
                """.replace("key=value", "key value"));
        Files.writeString(d.resolve("c-sections.conf"), """
                [nouri]
                gpgkey=file:///k.asc

                [unsigned]
                uri=https://example.invalid/u/index.asc

                [remote-key]
                uri=https://example.invalid/r/index.asc
                gpgkey=https://example.invalid/key.asc

                [ftp]
                uri=ftp://example.invalid/index.asc
                gpgkey=file:///k.asc

                [streams]
                uri=https://example.invalid/streams/
                gpgkey=file:///k.asc
                format=simplestreams

                [badfpr]
                uri=https://example.invalid/f/index.asc
                gpgkey=file:///k.asc
                fingerprint=xyz

                [kept]
                uri=https://example.invalid/kept/index.asc
                gpgkey=file:///k.asc
                colour=blue
                """);
        Files.writeString(d.resolve("d-dup.conf"), """
                [good]
                uri=https://example.invalid/again/index.asc
                gpgkey=file:///k.asc
                """);
        Files.writeString(d.resolve("e-twice.conf"), """
                [twice]
                uri=https://example.invalid/1/index.asc
                uri=https://example.invalid/2/index.asc
                gpgkey=file:///k.asc
                """);
        Files.writeString(d.resolve("f-outside.conf"), "uri=https://example.invalid/index.asc\n");
        Files.write(d.resolve("g-binary.conf"), new byte[] {'[', 'x', ']', '\n', (byte) 0xff, (byte) 0xfe});

        ReposD.Result r = ReposD.read(d);
        assertThat(r.sources()).extracting(ImageSource::name).containsExactly("good", "kept");
        assertThat(r.sources().get(0).uri().toString()).isEqualTo("https://example.invalid/good/index.asc");
        assertThat(problems(r)).containsExactly(
                d.resolve("b-syntax.conf") + ":4: error: expected [name] or key=value, got 'this line is not key value';"
                        + " the whole file is ignored",
                d.resolve("c-sections.conf") + ":1: error: [nouri] has no uri= (the URI of the signed index); this"
                        + " source is ignored",
                d.resolve("c-sections.conf") + ":4: error: [unsigned] has no gpgkey= (virt-builder would use it unsigned;"
                        + " jvirt refuses unsigned sources); this source is ignored",
                d.resolve("c-sections.conf") + ":9: error: [remote-key] gpgkey=https://example.invalid/key.asc must be a"
                        + " local file (file://); keys are never downloaded; this source is ignored",
                d.resolve("c-sections.conf") + ":12: error: [ftp] image source 'ftp': the index URI must be http(s):// or"
                        + " file://, got ftp://example.invalid/index.asc; this source is ignored",
                d.resolve("c-sections.conf") + ":18: error: [streams] format=simplestreams is not supported (only"
                        + " virt-builder's native index format); this source is ignored",
                d.resolve("c-sections.conf") + ":23: error: [badfpr] fingerprint=xyz must be 40 (v4) or 64 (v5) hex"
                        + " digits, spaces allowed; this source is ignored",
                d.resolve("c-sections.conf") + ":28: note: [kept] unknown key 'colour' is ignored",
                d.resolve("d-dup.conf") + ": error: source [good] is already defined in a-good.conf; this one is ignored",
                d.resolve("e-twice.conf") + ":3: error: key 'uri' appears twice in [twice] (first on line 2); the whole"
                        + " file is ignored",
                d.resolve("f-outside.conf") + ":1: error: key 'uri' is outside any [section]; the whole file is ignored",
                d.resolve("g-binary.conf") + ": error: not UTF-8 text; the file is ignored");
    }

    @Test
    void reposDSitsBetweenTheJsonFileAndTheOptionsWhichWinOnANameClash(@TempDir Path state) throws Exception {
        Files.writeString(state.resolve(ImageSources.FILE_NAME), """
                [{"name": "json", "uri": "https://example.invalid/json/index.asc", "key": "k.asc"}]
                """);
        Path d = Files.createDirectories(state.resolve("repos.d"));
        Files.writeString(d.resolve("r.conf"), """
                [conf]
                uri=https://example.invalid/conf/index.asc
                gpgkey=file:///k.asc

                [json]
                uri=https://example.invalid/other/index.asc
                gpgkey=file:///k.asc

                [opt]
                uri=https://example.invalid/other/index.asc
                gpgkey=file:///k.asc
                """);
        ImageSources.Loaded l = ImageSources.loadAll(state, List.of("opt=https://example.invalid/opt/index.asc,/k.asc"),
                Json.mapper());
        assertThat(l.sources()).extracting(ImageSource::name).containsExactly("json", "conf", "opt");
        assertThat(l.sources().get(2).uri().toString()).isEqualTo("https://example.invalid/opt/index.asc");
        assertThat(l.problems()).extracting(ReposD.Problem::toString).containsExactly(
                d.resolve("r.conf") + ": error: source [json] is also defined by image-sources.json, which wins; the"
                        + " repos.d one is ignored",
                d.resolve("r.conf") + ": error: source [opt] is also defined by --image-source, which wins; the"
                        + " repos.d one is ignored");
        // the option and the JSON file clashing is still the operator's error, refused at start
        assertThatThrownBy(() -> ImageSources.loadAll(state, List.of("json=https://x.invalid/i.asc,/k"), Json.mapper()))
                .hasMessageContaining("two image sources are named 'json'");
    }
}
