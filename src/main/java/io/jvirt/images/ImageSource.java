package io.jvirt.images;

import java.net.URI;
import java.nio.file.Path;

/**
 * A repository of templates: the URI of its signed index ({@code .../index.asc} clear-signed, or {@code .../index}
 * with a detached {@code index.sig} beside it) and the one public key trusted to sign it (optionally pinned to a
 * fingerprint), like virt-builder's {@code repos.d/*.conf} {@code uri=} and {@code gpgkey=}.
 */
public record ImageSource(String name, URI uri, Path keyFile, String fingerprint) {
    static final String NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";

    public ImageSource {
        if (name == null || !name.matches(NAME_PATTERN)) {
            throw new IllegalArgumentException("image source name '" + name + "' must be 1-64 of [A-Za-z0-9._-]");
        }
        String scheme = uri == null ? null : uri.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https") || scheme.equals("file"))) {
            throw new IllegalArgumentException("image source '" + name + "': the index URI must be http(s):// or file://, got "
                    + uri);
        }
        if (keyFile == null) {
            throw new IllegalArgumentException("image source '" + name + "' has no trusted key file: unsigned sources are refused");
        }
    }

    public boolean clearsigned() {
        return uri.getPath() != null && uri.getPath().endsWith(".asc");
    }
}
