package io.jvirt.images;

import java.util.List;

/**
 * virt-builder-style changes to the guest: {@code --hostname}, {@code --write FILE:CONTENT}, {@code --root-password},
 * {@code --ssh-inject USER:KEY} and {@code --firstboot-command CMD}. The root password arrives in clear text (the
 * client read its file); only its SHA-512 crypt hash is written into the guest.
 */
public record Customization(String hostname, List<FileWrite> writes, String rootPassword, List<SshKey> sshKeys,
        List<String> firstbootCommands, List<FileUpload> uploads) {
    public record FileWrite(String path, String content) {
    }

    /** {@code --upload}: the bytes of {@code source} (a staged upload on the daemon's side) become {@code path}. */
    public record FileUpload(String path, java.nio.file.Path source, long bytes) {
    }

    public record SshKey(String user, String key) {
    }

    public Customization(String hostname, List<FileWrite> writes) {
        this(hostname, writes, null, null, null, null);
    }

    public Customization(String hostname, List<FileWrite> writes, String rootPassword, List<SshKey> sshKeys,
            List<String> firstbootCommands) {
        this(hostname, writes, rootPassword, sshKeys, firstbootCommands, null);
    }

    public Customization {
        writes = writes == null ? List.of() : List.copyOf(writes);
        sshKeys = sshKeys == null ? List.of() : List.copyOf(sshKeys);
        firstbootCommands = firstbootCommands == null ? List.of() : List.copyOf(firstbootCommands);
        uploads = uploads == null ? List.of() : List.copyOf(uploads);
        for (FileUpload u : uploads) {
            checkPath(u.path());
        }
        if (hostname != null && !hostname.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
                || hostname != null && hostname.length() > 253) {
            throw ImageException.invalid("hostname '" + hostname + "' is not a valid host name");
        }
        for (FileWrite w : writes) {
            checkPath(w.path());
            if (w.content() == null) {
                throw ImageException.invalid("write to " + w.path() + " has no content");
            }
        }
        if (rootPassword != null && (rootPassword.isEmpty() || rootPassword.contains("\n") || rootPassword.length() > 256)) {
            throw ImageException.invalid("the root password must be one non-empty line of at most 256 characters");
        }
        for (SshKey k : sshKeys) {
            if (k.user() == null || !k.user().matches("[a-z_][a-z0-9_-]{0,31}")) {
                throw ImageException.invalid("ssh-inject user '" + k.user() + "' is not a valid user name");
            }
            if (k.key() == null || !k.key().matches("(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\\n]*)?")) {
                throw ImageException.invalid("ssh-inject key for " + k.user() + " is not one OpenSSH public key line");
            }
        }
        for (String cmd : firstbootCommands) {
            if (cmd == null || cmd.isBlank() || cmd.contains("\n")) {
                throw ImageException.invalid("a firstboot command must be one non-empty line");
            }
        }
    }

    static void checkPath(String path) {
        if (path == null || !path.matches("(/[A-Za-z0-9._+@-]+)+") || path.contains("/../") || path.endsWith("/..")
                || path.contains("/./") || path.endsWith("/.")) {
            throw ImageException.invalid("guest path '" + path + "' must be absolute and made of [A-Za-z0-9._+@-]"
                    + " components without . or ..");
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

    /** {@code USER:KEY} (the key line itself, as the client read it from its file). */
    public static SshKey parseSshKey(String spec) {
        int colon = spec == null ? -1 : spec.indexOf(':');
        if (colon <= 0) {
            throw ImageException.invalid("ssh key must be USER:KEY, got '" + spec + "'");
        }
        return new SshKey(spec.substring(0, colon), spec.substring(colon + 1).strip());
    }

    public boolean isEmpty() {
        return hostname == null && writes.isEmpty() && rootPassword == null && sshKeys.isEmpty()
                && firstbootCommands.isEmpty() && uploads.isEmpty();
    }

    /** Bytes of file content this puts into the guest (writes, the hostname, uploads), for progress reports. */
    public long contentBytes() {
        long n = uploads.stream().mapToLong(FileUpload::bytes).sum();
        for (FileWrite w : files()) {
            n += w.content().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        return n;
    }

    /** The plain writes, the hostname as /etc/hostname. */
    List<FileWrite> files() {
        List<FileWrite> all = new java.util.ArrayList<>();
        if (hostname != null) {
            all.add(new FileWrite("/etc/hostname", hostname + "\n"));
        }
        all.addAll(writes);
        return all;
    }
}
