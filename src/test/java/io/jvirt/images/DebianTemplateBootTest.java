package io.jvirt.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.testing.ConsoleReader;
import io.jvirt.testing.DaemonProcess;
import io.jvirt.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The real Debian 12 template of scripts/build-templates.sh (minutes to build, so built outside the test run:
 * the test is skipped when the repository is absent): served over HTTP, built into a qcow2 volume with a hostname
 * through the daemon, booted under QEMU, and it must reach a login prompt that shows that hostname; the
 * first-boot command must have run, and root must be able to log in on the console with the password we set.
 * Repository: -Djvirt.test.templates=DIR, else $JVIRT_TEMPLATE_REPO, else ~/.cache/jvirt/template-repo.
 */
class DebianTemplateBootTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path repoDir() {
        String prop = System.getProperty("jvirt.test.templates");
        String env = System.getenv("JVIRT_TEMPLATE_REPO");
        if (prop != null && !prop.isBlank() && !prop.startsWith("${")) {
            return Path.of(prop);
        }
        return env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "jvirt", "template-repo");
    }

    @Test
    void debianTemplateBootsToALoginPromptWithTheHostnameWeSet() throws Exception {
        Path dir = repoDir();
        assumeTrue(Files.isRegularFile(dir.resolve("debian-12.img.xz")) && Files.isRegularFile(dir.resolve("index.asc")),
                "no Debian template repository in " + dir + " (run scripts/build-templates.sh " + dir + ")");
        try (TestRepository repo = TestRepository.serve(dir);
             // the template's kernel and initrd are booted from the repository: an allowed directory (path policy)
             DaemonProcess daemon = DaemonProcess.startNew("--allow-dir", dir.toString(), "--image-source", "debian="
                     + repo.url("index.asc") + "," + dir.resolve("jvirt-templates.pub.asc"))) {
            TestHttp http = daemon.http();
            // build the volume and define the VM in one call, as jvirt image build --vm does
            ObjectNode body = JSON.createObjectNode();
            body.put("volume", "deb.qcow2");
            body.put("size", "3G");
            body.put("hostname", "jvirt-deb");
            body.put("rootPassword", "jvirt-test-pw");
            body.putArray("firstbootCommand").add("echo jvirt-firstboot-$((6*7)) > /dev/console");
            ObjectNode def = body.putObject("vm");
            def.put("name", "deb");
            def.put("memoryMiB", 512);
            def.put("vcpus", 1);
            ObjectNode boot = def.putObject("boot");
            boot.put("kernel", dir.resolve("debian-12.vmlinuz").toString());
            boot.put("initrd", dir.resolve("debian-12.initrd.img").toString());
            boot.put("cmdline", "root=/dev/vda rw console=ttyS0");
            TestHttp.Response built = http.post("/v1/images/debian-12/build?wait=true", body);
            assertThat(built.status()).as(built.toString()).isEqualTo(200);
            JsonNode vm = built.json().path("result").path("vm");
            assertThat(vm.path("name").asText()).isEqualTo("deb");
            assertThat(vm.path("definition").path("disks").get(0).path("path").asText())
                    .isEqualTo(built.json().path("result").path("volume").path("path").asText());
            TestHttp.Response started = http.post("/v1/vms/deb/start?wait=true");
            assertThat(started.status()).as(started.toString()).isEqualTo(200);
            try (ConsoleReader console = new ConsoleReader(http, "deb")) {
                // systemd under TCG on a shared machine: minutes, not seconds
                int at = console.await("jvirt-deb login:", Duration.ofMinutes(10));
                console.await("jvirt-firstboot-42", 0, Duration.ofMinutes(2));
                // log in with the password we set
                http.postBytes("/v1/vms/deb/console", "root\n".getBytes());
                at = console.await("Password:", at, Duration.ofMinutes(2));
                http.postBytes("/v1/vms/deb/console", "jvirt-test-pw\n".getBytes());
                at = console.await("root@jvirt-deb", at, Duration.ofMinutes(2));
                http.postBytes("/v1/vms/deb/console", "echo logged-in-$((6*7)) $(cat /etc/hostname)\n".getBytes());
                console.await("logged-in-42 jvirt-deb", at, Duration.ofMinutes(2));
            }
            JsonNode info = http.get("/v1/vms/deb").json();
            assertThat(info.path("state").asText()).isEqualTo("running");
            http.post("/v1/vms/deb/destroy");
        }
    }
}
