package io.jvirt.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvirt.testing.Command;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Modes checked with stat, whatever the umask (the test JVM's is 022, which would make 0644 files). */
class FileModesTest {
    @TempDir
    Path tmp;

    private static String stat(Path p) {
        return Command.ok("stat", "-c", "%a", p.toString()).strip();
    }

    @Test
    void filesAndDirectoriesGetExactlyTheirModes() throws Exception {
        Path dir = FileModes.createDirectories(tmp.resolve("state/owners/web"), FileModes.PRIVATE_DIR);
        assertThat(stat(dir)).isEqualTo("700");
        assertThat(stat(tmp.resolve("state"))).isEqualTo("700"); // missing parents too
        Path doc = tmp.resolve("state/owners/web/definition.json");
        FileModes.write(doc, "{}".getBytes(), FileModes.PRIVATE_FILE);
        assertThat(stat(doc)).isEqualTo("600");
        Path bundle = FileModes.createFile(tmp.resolve("web.bundle"), FileModes.GROUP_READABLE_FILE);
        assertThat(stat(bundle)).isEqualTo("640");
        // a mode the umask (022) would narrow is still given in full
        Path shared = FileModes.createFile(tmp.resolve("shared"), 0660);
        assertThat(stat(shared)).isEqualTo("660");
        assertThat(FileModes.modeOf(shared)).isEqualTo(0660);
        assertThat(FileModes.octal(0640)).isEqualTo("0640");
    }

    @Test
    void anExistingFileIsNarrowedBeforeItIsWritten() throws Exception {
        Path log = tmp.resolve("console.log");
        Files.writeString(log, "old\n");
        FileModes.setMode(log, 0644);
        try (FileChannel ch = FileModes.open(log, FileModes.PRIVATE_FILE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            assertThat(stat(log)).isEqualTo("600");
            ch.write(ByteBuffer.wrap("password typed\n".getBytes()));
        }
        assertThat(Files.readString(log)).isEqualTo("old\npassword typed\n");
        Path link = Files.createSymbolicLink(tmp.resolve("link.log"), log);
        assertThatThrownBy(() -> FileModes.open(link, FileModes.PRIVATE_FILE, StandardOpenOption.WRITE))
                .hasMessageContaining("symbolic link");
        assertThatThrownBy(() -> FileModes.createFile(log, 0600)).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    }

    @Test
    void aSocketAppearsOnlyWithItsFinalMode() throws Exception {
        FileModes.setMode(tmp, 0755); // like /run: anyone may look inside
        Path target = FileModes.createDirectories(tmp.resolve("run"), 0755).resolve("jvirtd.sock");
        Files.writeString(target, "stale"); // what a dead daemon may leave
        Path staged = SocketFiles.stage(target);
        assertThat(stat(staged.getParent())).isEqualTo("700");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(staged));
            assertThat(stat(staged)).isNotEqualTo("660"); // bind used the umask: this is why it is staged
            SocketFiles.publish(staged, target, 0660, null);
            assertThat(Files.exists(staged.getParent())).isFalse();
            assertThat(stat(target)).isEqualTo("660");
            assertThat(Command.ok("stat", "-c", "%F", target.toString()).strip()).isEqualTo("socket");
            // still the same listening socket, reached through its new name
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(target));
                 SocketChannel accepted = server.accept()) {
                client.write(ByteBuffer.wrap("hi".getBytes()));
                ByteBuffer in = ByteBuffer.allocate(2);
                accepted.read(in);
                assertThat(new String(in.array())).isEqualTo("hi");
            }
            // a 0660 root:root socket refuses other users, a 0666 one does not
            String user = "nobody";
            String connect = "socat -u OPEN:/dev/null UNIX-CONNECT:" + target;
            assertThat(Command.run(List.of("setpriv", "--reuid=" + user, "--regid=nogroup", "--clear-groups", "--",
                    "sh", "-c", connect)).output()).contains("Permission denied");
            FileModes.setMode(target, 0666);
            assertThat(Command.run(List.of("setpriv", "--reuid=" + user, "--regid=nogroup", "--clear-groups", "--",
                    "sh", "-c", connect)).exit()).isZero();
        }
    }
}
