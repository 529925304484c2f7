package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.api.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sources from the state dir's image-sources.json and from --image-source options. */
class ImageSourcesTest {
    @Test
    void readsTheFileAndTheOptions(@TempDir Path state) throws Exception {
        Files.writeString(state.resolve(ImageSources.FILE_NAME), """
                [{"name": "debian", "uri": "https://mirror.invalid/debian/index.asc", "key": "keys/debian.asc",
                  "fingerprint": "ABCD"}]
                """);
        List<ImageSource> s = ImageSources.load(state, List.of("file:///srv/repo/index,/k/pub.asc",
                "local=http://127.0.0.1:8080/index.asc,/k/l.asc,1234"), Json.mapper());
        assertThat(s).extracting(ImageSource::name).containsExactly("debian", "source1", "local");
        assertThat(s.get(0).keyFile()).isEqualTo(state.resolve("keys/debian.asc"));
        assertThat(s.get(0).clearsigned()).isTrue();
        assertThat(s.get(1).clearsigned()).isFalse();
        assertThat(s.get(2).fingerprint()).isEqualTo("1234");
        assertThat(Ext4Customizer.hostsWithHostname("127.0.0.1 localhost\n127.0.1.1 debian\n", "h"))
                .isEqualTo("127.0.0.1 localhost\n127.0.1.1\th\n");
        assertThat(Ext4Customizer.hostsWithHostname("127.0.0.1 localhost\n", "h")).isNull();
    }

    @Test
    void refusesSourcesWithoutKeysOrWithOtherSchemes(@TempDir Path state) {
        assertThatThrownBy(() -> ImageSources.parseOption("http://x/index.asc", 1)).hasMessageContaining("URI,KEYFILE");
        assertThatThrownBy(() -> ImageSources.parseOption("ftp://x/index.asc,/k", 1)).hasMessageContaining("http(s)://");
        assertThatThrownBy(() -> ImageSources.load(state, List.of("a=http://x/i.asc,/k", "a=http://y/i.asc,/k"),
                Json.mapper())).hasMessageContaining("two image sources");
    }
}
