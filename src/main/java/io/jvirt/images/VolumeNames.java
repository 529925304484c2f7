package io.jvirt.images;

import io.jvirt.error.ErrorCode;
import io.jvirt.error.JvirtException;
import java.nio.file.Path;
import java.util.Map;

/** A volume name from a client becomes a file directly inside the output directory, or is refused. */
public final class VolumeNames {
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private VolumeNames() {
    }

    public static Path resolve(Path dir, String name) {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "volume name '" + name + "' must be 1-128 of [A-Za-z0-9._-], "
                    + "start with a letter or digit and contain no '..' (it names a file in " + dir + ")",
                    Map.of("volume", String.valueOf(name)));
        }
        Path base = dir.toAbsolutePath().normalize();
        Path p = base.resolve(name).normalize();
        if (!base.equals(p.getParent())) {
            throw new JvirtException(ErrorCode.INVALID_NAME, "volume name '" + name + "' escapes " + dir,
                    Map.of("volume", name));
        }
        return p;
    }
}
