package io.jvirt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvirt.snapshot.SnapshotTestDefinitions;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestGuest;
import io.jvirt.testing.TestHttp;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bash completion script of {@code jvirt completion bash}, run by a real bash against a real daemon: the
 * completion function is called as bash's programmable completion would call it (COMP_WORDS, COMP_CWORD, COMP_LINE)
 * and what it puts in COMPREPLY is checked. The {@code jvirt} it calls back is this build (a wrapper around the test
 * class path).
 */
class CompletionTest {
    static DaemonProcess daemon;
    static Path dir;
    static Path script;
    static Path jvirt;

    @BeforeAll
    static void setUp() throws Exception {
        daemon = DaemonProcess.startNew();
        TestHttp api = daemon.http();
        dir = Files.createDirectories(daemon.root().resolve("completion"));
        assertThat(api.post("/v1/vms", TestGuest.definition("alpha")).status()).isEqualTo(201);
        assertThat(api.post("/v1/vms", TestGuest.definition("beta")).status()).isEqualTo(201);
        Path disk = TestGuest.newDisk(dir.resolve("snap.qcow2"), "qcow2", "16M");
        assertThat(api.post("/v1/vms", SnapshotTestDefinitions.withDisks("snapvm", disk)).status()).isEqualTo(201);
        assertThat(api.post("/v1/vms/snapvm/snapshots?wait=true", Map.of("name", "first")).status()).isEqualTo(200);
        assertThat(api.post("/v1/vms/snapvm/snapshots?wait=true", Map.of("name", "second")).status()).isEqualTo(200);
        assertThat(api.post("/v1/pools/default/volumes", Map.of("name", "data.qcow2", "size", "1M")).status())
                .isEqualTo(201);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = JvirtCli.run(new String[] {"completion", "bash"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(exit).isZero();
        script = Files.writeString(dir.resolve("jvirt.bash"), out.toString(StandardCharsets.UTF_8));
        jvirt = dir.resolve("jvirt");
        Files.writeString(jvirt, "#!/bin/sh\nexec '" + Path.of(System.getProperty("java.home"), "bin", "java")
                + "' -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '" + System.getProperty("java.class.path")
                + "' io.jvirt.cli.JvirtCli \"$@\"\n");
        Files.setPosixFilePermissions(jvirt, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterAll
    static void tearDown() {
        if (daemon != null) daemon.close();
    }

    /** What completing the end of {@code line} (after "jvirt --socket SOCKET ") offers. */
    static List<String> complete(String line) throws Exception {
        return completeRaw(jvirt + " --socket " + daemon.socket() + " " + line);
    }

    static List<String> completeRaw(String line) throws Exception {
        String driver = """
                source "$1"
                line=$2
                read -ra COMP_WORDS <<< "$line"
                [[ $line == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
                COMP_LINE=$line
                COMP_POINT=${#line}
                _complete_jvirt 2>/dev/null
                printf '%s\\n' "${COMPREPLY[@]}"
                """;
        Process p = new ProcessBuilder("bash", "--norc", "--noprofile", "-c", driver, "bash", script.toString(), line)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out.lines().filter(s -> !s.isBlank()).map(String::strip).toList();
    }

    @Test
    void vmNamesComeFromTheDaemon() throws Exception {
        assertThat(complete("start ")).containsExactlyInAnyOrder("alpha", "beta", "snapvm");
        assertThat(complete("info al")).containsExactly("alpha");
        assertThat(complete("snapshot list ")).containsExactlyInAnyOrder("alpha", "beta", "snapvm");
        assertThat(complete("events --vm b")).containsExactly("beta");
        // the second argument of start is no VM
        assertThat(complete("start alpha ")).isEmpty();
    }

    @Test
    void snapshotNamesAreThoseOfTheVmTyped() throws Exception {
        assertThat(complete("snapshot revert snapvm ")).containsExactlyInAnyOrder("first", "second");
        assertThat(complete("snapshot delete snapvm s")).containsExactly("second");
        assertThat(complete("snapshot revert alpha ")).isEmpty();
        // a new snapshot's name is not completed
        assertThat(complete("snapshot create snapvm ")).isEmpty();
    }

    @Test
    void volumeAndPoolNames() throws Exception {
        assertThat(complete("vol info ")).containsExactly("data.qcow2");
        assertThat(complete("vol delete --pool default d")).containsExactly("data.qcow2");
        assertThat(complete("vol list --pool ")).containsExactly("default");
        assertThat(complete("pool info ")).containsExactly("default");
    }

    @Test
    void commandsAndOptionsComeFromTheCommandTree() throws Exception {
        assertThat(complete("sn")).containsExactly("snapshot");
        assertThat(complete("snapshot ")).contains("create", "list", "info", "revert", "delete");
        assertThat(complete("start --")).contains("--no-wait", "--timeout", "--queue", "--socket", "--output");
        assertThat(complete("list -o ")).containsExactlyInAnyOrder("table", "json");
        assertThat(complete("__comp")).isEmpty(); // hidden
    }

    /**
     * zsh runs the same script through bashcompinit, whose compgen calls the completion function under
     * {@code emulate -L sh}; so does this driver. (zsh's compgen -W does not filter by the typed prefix: zsh's
     * matcher does that later, so only full lists are compared.) Skipped without a zsh on the PATH; one unpacked
     * outside /usr is found through JVIRT_ZSH_ROOT.
     */
    @Test
    void zshGetsTheSameNames() throws Exception {
        String zsh = null;
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, "zsh"))) {
                zsh = Path.of(d, "zsh").toString();
                break;
            }
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(zsh != null, "no zsh on the PATH");
        String driver = """
                if [ -n "$JVIRT_ZSH_ROOT" ]; then
                  module_path=($JVIRT_ZSH_ROOT/usr/lib/*/zsh/*(/))
                  fpath=($JVIRT_ZSH_ROOT/usr/share/zsh/functions/*(/))
                fi
                source "$1"
                drive() {
                  emulate -L sh
                  setopt kshglob noshglob braceexpand nokshautoload
                  local line=$1
                  local -a COMP_WORDS COMPREPLY
                  COMP_WORDS=( $line )
                  case $line in *" ") COMP_WORDS+=("") ;; esac
                  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
                  COMP_LINE=$line
                  _complete_jvirt 2>/dev/null
                  printf '%s\n' "${COMPREPLY[@]}"
                }
                drive "$2"
                """;
        String prefix = jvirt + " --socket " + daemon.socket() + " ";
        for (var c : Map.of("start ", List.of("alpha", "beta", "snapvm"), "snapshot revert snapvm ",
                List.of("first", "second"), "vol info ", List.of("data.qcow2")).entrySet()) {
            Process p = new ProcessBuilder(zsh, "-f", "-c", driver, "zsh", script.toString(), prefix + c.getKey())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out.lines().filter(l -> !l.isBlank()).toList()).as(c.getKey())
                    .containsExactlyInAnyOrderElementsOf(c.getValue());
        }
    }

    @Test
    void anUnreachableDaemonCompletesNothing() throws Exception {
        assertThat(completeRaw(jvirt + " --socket " + dir.resolve("nobody.sock") + " start ")).isEmpty();
    }

    @Test
    void namesCommandPrintsOneNameALine() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = JvirtCli.run(new String[] {"--socket", daemon.socket().toString(), "__complete", "snapshots", "snapvm"},
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertThat(exit).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("first\nsecond\n");
    }
}
