package io.jvirt.images;

import java.util.List;

/** virt-builder-style changes to the guest's files: {@code --hostname} and {@code --write FILE:CONTENT}. */
public record Customization(String hostname, List<FileWrite> writes) {
    public record FileWrite(String path, String content) {
    }

    public Customization {
        writes = writes == null ? List.of() : List.copyOf(writes);
        if (hostname != null && !hostname.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
                || hostname != null && hostname.length() > 253) {
            throw ImageException.invalid("hostname '" + hostname + "' is not a valid host name");
        }
        for (FileWrite w : writes) {
            if (w.path() == null || !w.path().matches("(/[A-Za-z0-9._+@-]+)+") || w.path().contains("/../")
                    || w.path().endsWith("/..") || w.path().contains("/./")) {
                throw ImageException.invalid("guest path '" + w.path() + "' must be absolute and made of [A-Za-z0-9._+@-]"
                        + " components without . or ..");
            }
            if (w.content() == null) {
                throw ImageException.invalid("write to " + w.path() + " has no content");
            }
        }
    }

    /** {@code FILE:CONTENT} as virt-builder's {@code --write} takes it. */
    public static FileWrite parseWrite(String spec) {
        int colon = spec == null ? -1 : spec.indexOf(':');
        if (colon <= 0) {
            throw ImageException.invalid("--write must be FILE:CONTENT, got '" + spec + "'");
        }
        return new FileWrite(spec.substring(0, colon), spec.substring(colon + 1));
    }

    public boolean isEmpty() {
        return hostname == null && writes.isEmpty();
    }

    /** Everything to write, the hostname as /etc/hostname. */
    List<FileWrite> files() {
        List<FileWrite> all = new java.util.ArrayList<>();
        if (hostname != null) {
            all.add(new FileWrite("/etc/hostname", hostname + "\n"));
        }
        all.addAll(writes);
        return all;
    }
}
