package io.jvirt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static io.jvirt.cli.Output.text;

/** {@code define} and {@code net-define}: a YAML or JSON file ('-' for stdin) posted to a collection. */
abstract class DefineCommand extends CliCommand {
    @Parameters(paramLabel = "FILE", description = "Definition file: .yaml/.yml, .json, or sniffed from content.")
    String file;

    private String name;

    /** The collection the definition is posted to, e.g. {@code /v1/vms}. */
    abstract String collection();

    /** What is defined, for the confirmation line ("VM", "Network"). */
    abstract String noun();

    @Override
    JsonNode run() throws Exception {
        byte[] content;
        name = file;
        try {
            if (file.equals("-")) {
                content = session().in.readAllBytes();
                name = "<stdin>";
            } else {
                content = Files.readAllBytes(Path.of(file));
            }
        } catch (NoSuchFileException e) {
            throw new CliException(JvirtCli.EXIT_INVALID, "cannot read " + file + ": no such file");
        } catch (IOException e) {
            throw new CliException(JvirtCli.EXIT_INVALID, "cannot read " + file + ": " + e.getMessage());
        }
        return api().post(collection(), null, Definitions.parse(name, content));
    }

    @Override
    void show(JsonNode defined, Output out) {
        out.line(noun() + " " + text(defined, "name") + " defined from " + name);
    }
}
