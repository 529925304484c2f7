package io.jvirt.cli;

import static io.jvirt.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The quick path for list/info (no picocli model) prints exactly what the picocli path prints. */
class QuickQueryTest {
    StubServer server;

    @BeforeEach
    void start() throws Exception {
        server = StubServer.unix();
        server.json("GET", "/v1/vms", 200, """
                [{"name":"alpha","state":"shutoff","reason":"defined","job":null,"runtime":null},
                 {"name":"demo","state":"starting","reason":"user","job":{"name":"start","operation":"op1","since":"t"}}]""");
        server.json("GET", "/v1/vms/demo", 200, JvirtCliTest.VM_DEMO);
        server.on("GET", "/v1/vms/nope", (req, ex) -> ex.error(404, "vm-not-found", "no VM named 'nope'"));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        JvirtCli.quickQueries = true;
    }

    @ParameterizedTest
    @ValueSource(strings = {"list", "-o json list", "list -o json", "info demo", "dominfo demo", "-o json info demo",
        "--output table info demo", "info nope", "list extra-word", "info", "-o yaml list", "list --all"})
    void bothPathsPrintTheSame(String command) {
        String[] args = command.split(" ");
        CliTestSupport.Result quick = run(server, args);
        JvirtCli.quickQueries = false;
        CliTestSupport.Result picocli = run(server, args);
        assertThat(quick).isEqualTo(picocli);
    }
}
