package io.jvirt.vm;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test-only failure of the definition write after a disk switch: with
 * {@code JVIRT_FAULT=vm:fail-definition-write:<flag file>} in jvirtd's environment (or the system property
 * {@code jvirt.fault}), {@link VmManager#switchDisks} fails while the flag file exists, as a full or failing state
 * disk would. Removing the file lets the next retry succeed.
 */
final class DefinitionWriteFault {
    private static final String PREFIX = "vm:fail-definition-write:";

    private DefinitionWriteFault() {
    }

    static void check() {
        String want = System.getProperty("jvirt.fault", System.getenv("JVIRT_FAULT"));
        if (want != null && want.startsWith(PREFIX) && Files.exists(Path.of(want.substring(PREFIX.length())))) {
            throw new java.io.UncheckedIOException(new java.io.IOException("injected failure (" + want + "): No space left on device"));
        }
    }
}
