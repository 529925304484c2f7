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
}
