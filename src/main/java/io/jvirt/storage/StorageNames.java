package io.jvirt.storage;

import io.jvirt.vm.DefinitionValidator;
import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Names of pools and volumes: the same rules as VM names (no '/', '..', control characters, leading '-' or
 * space), and the resolved file must lie directly inside its pool, so no name can reach another directory.
 */
public final class StorageNames {
    private StorageNames() {
    }

    public static String checkVolumeName(String name) {
        try {
            return DefinitionValidator.checkName(name);
        } catch (JvirtException e) {
            String shown = e.details().getOrDefault("name", "").toString();
            throw new JvirtException(ErrorCode.INVALID_VOLUME, name == null || name.isEmpty() ? "a volume name is required"
                    : "invalid volume name '" + shown + "': use 1-63 letters, digits, '.', '_' or '-', starting with a"
                    + " letter or digit (no '/', '..', spaces or control characters)", Map.of("name", shown));
        }
    }

    public static String checkPoolName(String name) {
        try {
            return DefinitionValidator.checkName(name);
        } catch (JvirtException e) {
            throw new JvirtException(ErrorCode.POOL_NOT_FOUND, "no pool named '" + e.details().getOrDefault("name", "")
                    + "' (pool names follow the VM name rules)", Map.of("pool", e.details().getOrDefault("name", "")));
        }
    }

    /** The file of volume {@code name} in {@code pool}; checked again after resolving, as a second fence. */
    public static Path volumeFile(Pool pool, String name) {
        checkVolumeName(name);
        Path dir = pool.path().toAbsolutePath().normalize();
        Path file = dir.resolve(name).normalize();
        if (!dir.equals(file.getParent())) {
            throw new JvirtException(ErrorCode.INVALID_VOLUME, "volume name '" + name + "' escapes its pool",
                    Map.of("name", name));
        }
        return file;
    }
}
