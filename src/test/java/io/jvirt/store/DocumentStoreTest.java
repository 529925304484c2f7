package io.jvirt.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DocumentStoreTest {
    @TempDir
    Path tmp;
    private final ObjectMapper mapper = new ObjectMapper();

    @Test
    void putGetRemoveSurviveReopen() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            s.put("web", "definition", Map.of("name", "web", "memoryMiB", 128));
            s.put("web", "state", Map.of("state", "running"));
            s.put("db", "definition", Map.of("name", "db"));
        }
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            assertThat(s.owners("definition")).containsExactly("db", "web");
            assertThat(s.get("web", "definition").orElseThrow().path("memoryMiB").asInt()).isEqualTo(128);
            s.removeOwner("web", "definition");
            assertThat(s.owners("definition")).containsExactly("db");
            assertThat(s.get("web", "state")).isEmpty();
            assertThat(Files.exists(s.ownerDir("web"))).isFalse();
        }
    }

    @Test
    void aHalfWrittenTemporaryFileIsNeverRead() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            s.put("web", "definition", Map.of("name", "web", "v", 1));
            // What a crash in the middle of a write leaves: a partial temp file beside the intact document.
            Files.writeString(s.ownerDir("web").resolve(".definition.json.tmp"), "{\"name\": \"we");
            assertThat(s.get("web", "definition").orElseThrow().path("v").asInt()).isEqualTo(1);
            s.put("web", "definition", Map.of("name", "web", "v", 2));
            assertThat(s.get("web", "definition").orElseThrow().path("v").asInt()).isEqualTo(2);
        }
    }

    @Test
    void anOwnerWithoutItsCommitDocumentIsNotListed() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            s.put("half", "state", Map.of("state", "shutoff")); // crash before the definition was written
            assertThat(s.owners("definition")).isEmpty();
        }
    }

    @Test
    void keysCannotEscapeTheStore() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            for (String bad : new String[] {"../x", "a/b", "..", "", ".hidden", "a\nb"}) {
                assertThatThrownBy(() -> s.put(bad, "definition", Map.of())).isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> s.put("ok", bad, Map.of())).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    void onlyOneDaemonOpensAStore() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            assertThatThrownBy(() -> DocumentStore.open(tmp, mapper)).isInstanceOf(StoreLockedException.class);
        }
    }

    @Test
    void documentsAndDirectoriesArePrivateWhateverTheUmask() throws Exception {
        Path root = tmp.resolve("state");
        try (DocumentStore s = DocumentStore.open(root, mapper)) {
            s.put("web", "definition", Map.of("name", "web"));
            assertThat(mode(root)).isEqualTo("rwx------");
            assertThat(mode(root.resolve("owners"))).isEqualTo("rwx------");
            assertThat(mode(s.ownerDir("web"))).isEqualTo("rwx------");
            assertThat(mode(s.ownerDir("web").resolve("definition.json"))).isEqualTo("rw-------");
        }
        // a state dir an older daemon made world-readable is narrowed on open
        Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        try (DocumentStore s = DocumentStore.open(root, mapper)) {
            assertThat(mode(root)).isEqualTo("rwx------");
        }
        // one whose ACL lets a running QEMU's uid pass keeps that (the group bits are the ACL's mask), loses others'
        io.jvirt.testing.Command.ok("setfacl", "-m", "u:70999:--x", root.toString());
        Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        try (DocumentStore s = DocumentStore.open(root, mapper)) {
            assertThat(mode(root)).isEqualTo("rwx--x---");
            assertThat(io.jvirt.testing.Command.ok("getfacl", "--omit-header", root.toString())).contains("user:70999:--x")
                    .doesNotContain("#effective");
        }
    }

    @Test
    void temporaryFilesACrashLeftAreRemovedOnOpen() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            s.put("web", "definition", Map.of("name", "web"));
            Files.writeString(s.ownerDir("web").resolve(".state.json.tmp"), "{\"half");
            Files.writeString(s.ownerDir("web").resolve("console.log"), "kept: not a temporary file");
        }
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            assertThat(Files.exists(s.ownerDir("web").resolve(".state.json.tmp"))).isFalse();
            assertThat(Files.exists(s.ownerDir("web").resolve("console.log"))).isTrue();
            assertThat(s.get("web", "definition")).isPresent();
        }
    }

    @Test
    void aQuarantinedDocumentLeavesTheStoreWithItsReason() throws Exception {
        try (DocumentStore s = DocumentStore.open(tmp, mapper)) {
            s.put("good", "definition", Map.of("name", "good"));
            s.put("bad", "state", Map.of("state", "running"));
            Files.writeString(s.ownerDir("bad").resolve("definition.json"), "{\"name\": \"bad\", \"memoryMiB\": ");
            Path moved = s.quarantine("bad", "definition", "unreadable: unexpected end of input");
            assertThat(moved).startsWith(tmp.resolve("quarantine").resolve("bad"));
            assertThat(Files.readString(moved)).startsWith("{\"name\": \"bad\"");
            assertThat(s.owners("definition")).containsExactly("good");
            assertThat(s.quarantined()).singleElement().satisfies(q -> {
                assertThat(q.owner()).isEqualTo("bad");
                assertThat(q.file()).isEqualTo(moved);
                assertThat(q.reason()).isEqualTo("unreadable: unexpected end of input");
            });
        }
    }

    private static String mode(Path p) throws Exception {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
