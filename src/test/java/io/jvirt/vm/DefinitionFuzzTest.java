package io.jvirt.vm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import io.jvirt.qemu.Accelerator;
import io.jvirt.qemu.monitor.CapabilityCache;
import io.jvirt.store.DocumentStore;
import io.jvirt.testing.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Property tests of the definition parser and validator, through {@link VmManager#define} as the API calls it:
 * whatever JSON comes (random values of random types in the definition's own fields, unknown fields, random
 * bytes), the answer is a definition accepted or a refusal with a client error code, never {@code internal} or
 * another exception; and a refused definition leaves nothing in the store.
 */
class DefinitionFuzzTest {
    static final ObjectMapper MAPPER = io.jvirt.api.Json.mapper();
    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static Path tmp;
    static DocumentStore store;
    static VmManager vms;

    @BeforeContainer
    static void open() throws Exception {
        tmp = Files.createTempDirectory("jvirt-fuzz-");
        store = DocumentStore.open(tmp.resolve("state"), MAPPER);
        vms = new VmManager(new VmManager.Config(tmp.resolve("run"), "/usr/bin/qemu-system-x86_64", Accelerator.TCG,
                Duration.ofSeconds(30), new CapabilityCache(tmp.resolve("caps"))), store);
    }

    @AfterContainer
    static void close() throws Exception {
        store.close();
        try (Stream<Path> walk = Files.walk(tmp)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Defines from raw bytes as the API does (strict JSON, then the manager); returns the refusal code or null. */
    static ErrorCode defineRaw(byte[] body) {
        VmDefinition d;
        try {
            d = MAPPER.readValue(body, VmDefinition.class);
        } catch (JsonProcessingException e) {
            return ErrorCode.INVALID_DEFINITION; // what Exchange.bodyAs answers
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        if (d == null) {
            return ErrorCode.INVALID_DEFINITION;
        }
        List<String> before = store.owners(VmManager.DEFINITION);
        try {
            VmView v = vms.define(d);
            vms.undefine(v.name(), Duration.ZERO);
            return null;
        } catch (JvirtException e) {
            assertThat(store.owners(VmManager.DEFINITION)).as("a refused definition stores nothing").isEqualTo(before);
            return e.code();
        }
    }

    @Property(tries = 1000)
    void randomDefinitionsAreAcceptedOrRefusedAsClientErrors(@ForAll("definitions") JsonNode definition) throws Exception {
        ErrorCode code = defineRaw(MAPPER.writeValueAsBytes(definition));
        if (code != null) {
            assertThat(code).isNotEqualTo(ErrorCode.INTERNAL);
            assertThat(code.httpStatus()).as("%s for %s", code, definition).isBetween(400, 499);
        }
    }

    @Property(tries = 200)
    void randomBytesAreRefused(@ForAll byte[] body) {
        ErrorCode code = defineRaw(body);
        if (code != null) {
            assertThat(code).isNotEqualTo(ErrorCode.INTERNAL);
        }
    }

    @Property(tries = 1000)
    void mutatedValidDefinitionsNeverFailInternally(@ForAll("mutations") JsonNode definition) throws Exception {
        ErrorCode code = defineRaw(MAPPER.writeValueAsBytes(definition));
        if (code != null) {
            assertThat(code.httpStatus()).as("%s for %s", code, definition).isBetween(400, 499);
        }
    }

    // ---- generators ----------------------------------------------------------------------------------------

    static Arbitrary<JsonNode> scalars() {
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40).map(F::textNode),
                Arbitraries.of("vm1", "a", "-x", "../etc", "/etc/passwd", "virtio", "ide", "qcow2", "raw", "user", "e1000",
                        "52:54:00:12:34:56", "ff:ff:ff:ff:ff:ff", "pc", "q35", "kvm", "tcg", "auto", "", " ", "\u0000",
                        "tcp", "udp", "127.0.0.1", "default", "br0", "123e4567-e89b-12d3-a456-426614174000")
                        .map(F::textNode),
                Arbitraries.integers().map(F::numberNode),
                Arbitraries.longs().map(F::numberNode),
                Arbitraries.of(0, -1, 1, 65535, 65536, Integer.MAX_VALUE, 4096, 1 << 20).map(F::numberNode),
                Arbitraries.doubles().map(F::numberNode),
                Arbitraries.of(true, false).map(F::booleanNode),
                Arbitraries.just(F.nullNode()));
    }

    static Arbitrary<JsonNode> values(int depth) {
        if (depth <= 0) {
            return scalars();
        }
        Arbitrary<JsonNode> inner = Arbitraries.lazy(() -> values(depth - 1));
        Arbitrary<JsonNode> array = inner.list().ofMaxSize(3).map(l -> {
            ArrayNode a = F.arrayNode();
            l.forEach(a::add);
            return a;
        });
        Arbitrary<JsonNode> object = Combinators.combine(fieldNames().list().ofMaxSize(5), inner.list().ofSize(5))
                .as((names, vals) -> {
                    ObjectNode o = F.objectNode();
                    for (int i = 0; i < names.size(); i++) {
                        o.set(names.get(i), vals.get(i));
                    }
                    return (JsonNode) o;
                });
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(4, scalars()), net.jqwik.api.Tuple.of(1, array),
                net.jqwik.api.Tuple.of(2, object));
    }

    /** The definition's own field names (top level, boot, disks, nics, forwards) and a few strangers. */
    static Arbitrary<String> fieldNames() {
        return Arbitraries.of("name", "uuid", "memoryMiB", "vcpus", "machine", "accel", "emulator", "boot", "disks",
                "nics", "kernel", "initrd", "cmdline", "path", "format", "bus", "readOnly", "type", "model", "mac",
                "network", "bridge", "forwards", "vhost", "proto", "hostAddress", "hostPort", "guestPort", "extra", "");
    }

    @Provide
    Arbitrary<JsonNode> definitions() {
        return values(3).filter(JsonNode::isObject);
    }

    /** A valid definition with one field replaced by a random value (deep fields included). */
    @Provide
    Arbitrary<JsonNode> mutations() {
        List<String> paths = List.of("name", "uuid", "memoryMiB", "vcpus", "machine", "accel", "emulator", "boot",
                "boot.kernel", "boot.initrd", "boot.cmdline", "disks", "nics", "disks.0", "disks.0.path", "disks.0.format",
                "disks.0.bus", "disks.0.readOnly", "nics.0.mac", "nics.0.type", "nics.0.model", "nics.0.forwards",
                "nics.0.forwards.0.hostPort", "nics.0.forwards.0.proto");
        return Combinators.combine(Arbitraries.of(paths), values(2)).as((path, value) -> {
            ObjectNode d = TestGuest.definition("mutant");
            ObjectNode disk = d.putArray("disks").addObject();
            disk.put("name", "d0");
            disk.put("path", TestGuest.kernel().toString());
            disk.put("format", "raw");
            disk.put("readOnly", true);
            ObjectNode nic = d.putArray("nics").addObject();
            nic.put("name", "n0");
            nic.put("type", "user");
            ObjectNode fwd = nic.putArray("forwards").addObject();
            fwd.put("proto", "tcp");
            fwd.put("hostPort", 10022);
            fwd.put("guestPort", 22);
            String[] parts = path.split("\\.");
            JsonNode at = d;
            for (int i = 0; i < parts.length - 1; i++) {
                at = at.isArray() ? at.get(Integer.parseInt(parts[i])) : at.get(parts[i]);
            }
            String last = parts[parts.length - 1];
            if (at instanceof ArrayNode a) {
                a.set(Integer.parseInt(last), value);
            } else {
                ((ObjectNode) at).set(last, value);
            }
            return (JsonNode) d;
        });
    }
}
