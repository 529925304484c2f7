package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** virt-builder's index format: every documented key, continuation lines, round trips, and strict refusals. */
class IndexParserTest {
    static final String SUM_A = "a".repeat(64) + "0123456789abcdef".repeat(4);
    static final String SUM_B = "b".repeat(128);

    /** Shaped like the indexes virt-builder's public sources publish (written for this test, not copied). */
    static final String REAL_WORLD = """
            # jvirt test repository, in the layout of virt-builder's public sources
            [debian-12]
            name=Debian 12 (bookworm)
            osinfo=debian12
            arch=x86_64
            file=debian-12.xz
            revision=3
            checksum[sha512]=%s
            format=raw
            size=6442450944
            compressed_size=301989888
            expand=/dev/sda1
            notes=Debian 12 (bookworm)
            \s
             A minimal Debian install with a serial console.
            \s
             The image has no SSH host keys; make them at first boot with:
            \s
                 --firstboot-command "dpkg-reconfigure openssh-server"
            \s
             Built by scripts/build-templates.sh.
            aliases=debian bookworm

            [debian-12-hidden-build]
            name=Debian 12 build helper
            osinfo=debian12
            arch=x86_64
            file=sub/helper.qcow2
            checksum=%s
            format=qcow2
            size=1073741824
            hidden=true
            sig=helper.qcow2.sig
            """.formatted(SUM_A, SUM_B);

    @Test
    void readsEveryKeyOfARealWorldShapedIndex() {
        TemplateIndex index = IndexParser.parse(REAL_WORLD);
        assertThat(index.entries()).hasSize(2);
        IndexEntry d = index.entries().get(0);
        assertThat(d.id()).isEqualTo("debian-12");
        assertThat(d.name()).isEqualTo("Debian 12 (bookworm)");
        assertThat(d.osinfo()).isEqualTo("debian12");
        assertThat(d.arch()).isEqualTo("x86_64");
        assertThat(d.file()).isEqualTo("debian-12.xz");
        assertThat(d.isXz()).isTrue();
        assertThat(d.revision()).isEqualTo("3");
        assertThat(d.checksumSha512()).isEqualTo(SUM_A);
        assertThat(d.format()).isEqualTo("raw");
        assertThat(d.size()).isEqualTo(6442450944L);
        assertThat(d.compressedSize()).isEqualTo(301989888L);
        assertThat(d.expand()).isEqualTo("/dev/sda1");
        assertThat(d.notes()).isEqualTo("""
                Debian 12 (bookworm)

                A minimal Debian install with a serial console.

                The image has no SSH host keys; make them at first boot with:

                    --firstboot-command "dpkg-reconfigure openssh-server"

                Built by scripts/build-templates.sh.""");
        assertThat(d.aliases()).containsExactly("debian", "bookworm");
        assertThat(d.hidden()).isFalse();

        IndexEntry h = index.entries().get(1);
        assertThat(h.hidden()).isTrue();
        assertThat(h.checksumSha512()).isEqualTo(SUM_B); // bare checksum= is sha512 too
        assertThat(h.formatOrRaw()).isEqualTo("qcow2");
        assertThat(h.revisionOrDefault()).isEqualTo("1");
        assertThat(h.extra()).containsExactly(Map.entry("sig", "helper.qcow2.sig"));

        assertThat(index.visible()).extracting(IndexEntry::id).containsExactly("debian-12");
        assertThat(index.find("bookworm")).get().extracting(IndexEntry::id).isEqualTo("debian-12");
        assertThat(index.find("debian-12-hidden-build")).isPresent();
        assertThat(index.find("fedora")).isEmpty();
    }

    @Test
    void writeThenParseIsTheIdentity() {
        TemplateIndex index = IndexParser.parse(REAL_WORLD);
        String written = IndexWriter.write(index);
        TemplateIndex again = IndexParser.parse(written);
        assertThat(again).isEqualTo(index);
        assertThat(IndexWriter.write(again)).isEqualTo(written);
        // empty note lines are written as a lone space, as virt-builder expects
        assertThat(written).contains("notes=Debian 12 (bookworm)\n \n A minimal");
    }

    @Test
    void writesWhatItIsGiven() {
        IndexEntry e = new IndexEntry("tiny", "Tiny", "debian12", "x86_64", "tiny.img.xz", "7", SUM_B, "raw", 64L << 20,
                1234L, null, "one\ntwo", false, List.of("t"), Map.of("x-jvirt", "1"));
        String text = IndexWriter.write(new TemplateIndex(List.of(e)));
        assertThat(text).isEqualTo("""
                [tiny]
                name=Tiny
                osinfo=debian12
                arch=x86_64
                file=tiny.img.xz
                revision=7
                checksum[sha512]=%s
                format=raw
                size=67108864
                compressed_size=1234
                notes=one
                 two
                aliases=t
                x-jvirt=1
                """.formatted(SUM_B));
        assertThat(IndexParser.parse(text).entries()).containsExactly(e);
    }

    @Test
    void emptyLinesInsideNotesAsGpgReturnsThemAreStillNotes() {
        // gpg's verified output drops the lone space of an empty continuation line
        String stripped = REAL_WORLD.replace("\n \n", "\n\n");
        assertThat(stripped).isNotEqualTo(REAL_WORLD);
        assertThat(IndexParser.parse(stripped)).isEqualTo(IndexParser.parse(REAL_WORLD));
    }

    @Test
    void refusesMalformedIndexes() {
        assertThatThrownBy(() -> IndexParser.parse("name=x\n")).hasMessageContaining("line 1").hasMessageContaining("before the first");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nfile=a\n[a]\nfile=b\n")).hasMessageContaining("appears twice");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nfile=a\nfile=b\n")).hasMessageContaining("'file' appears twice");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nname=x\n")).hasMessageContaining("no file=");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nfile=a\nsize=12G\n")).hasMessageContaining("size=");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nfile=a\nchecksum[sha512]=abc\n")).hasMessageContaining("128 hex");
        assertThatThrownBy(() -> IndexParser.parse("[a]\n continued\n")).hasMessageContaining("continuation");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nfile=a\nhidden=maybe\n")).hasMessageContaining("hidden=");
        assertThatThrownBy(() -> IndexParser.parse("[a]\nfile=a\njust words\n")).hasMessageContaining("line 3");
    }

    @Test
    void fileMustStayBesideTheIndex() {
        ImageSource src = new ImageSource("s", java.net.URI.create("http://127.0.0.1:1/repo/index.asc"),
                java.nio.file.Path.of("/k"), null);
        for (String bad : List.of("/etc/passwd", "http://evil.example/x.xz", "../x.xz", "a/../../x", "file:///x", "a//b")) {
            IndexEntry e = new IndexEntry("t", null, null, null, bad, null, null, null, null, null, null, null, false,
                    null, null);
            assertThatThrownBy(() -> ImageCatalog.fileUri(src, e)).as(bad).hasMessageContaining("relative path beside");
        }
        IndexEntry ok = new IndexEntry("t", null, null, null, "sub/t.xz", null, null, null, null, null, null, null,
                false, null, null);
        assertThat(ImageCatalog.fileUri(src, ok).toString()).isEqualTo("http://127.0.0.1:1/repo/sub/t.xz");
    }
}
