package io.jvirt.images;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The templates of every configured source. Each call fetches the index again and verifies its signature before
 * a single byte of it is parsed; nothing unverified is ever kept.
 */
public final class ImageCatalog {
    private final List<ImageSource> sources;
    private final Transport transport;
    private final GpgVerifier gpg;
    private final List<ReposD.Problem> configProblems;

    public ImageCatalog(List<ImageSource> sources, GpgVerifier gpg) {
        this(sources, new Transport(), gpg, List.of());
    }

    /** {@code configProblems}: what was wrong in repos.d when the sources were read, shown to clients. */
    public ImageCatalog(ImageSources.Loaded loaded, GpgVerifier gpg) {
        this(loaded.sources(), new Transport(), gpg, loaded.problems());
    }

    ImageCatalog(List<ImageSource> sources, Transport transport, GpgVerifier gpg) {
        this(sources, transport, gpg, List.of());
    }

    private ImageCatalog(List<ImageSource> sources, Transport transport, GpgVerifier gpg, List<ReposD.Problem> problems) {
        this.sources = List.copyOf(sources);
        this.transport = transport;
        this.gpg = gpg;
        this.configProblems = List.copyOf(problems);
    }

    public List<ReposD.Problem> configProblems() {
        return configProblems;
    }

    /** A template as the API shows it. */
    public record TemplateView(String source, String id, String name, String osinfo, String arch, Long size,
            Long compressedSize, String revision, String format, String notes, List<String> aliases, boolean hidden) {
        public static TemplateView of(String source, IndexEntry e) {
            return new TemplateView(source, e.id(), e.name(), e.osinfo(), e.arch(), e.size(), e.compressedSize(),
                    e.revisionOrDefault(), e.formatOrRaw(), e.notes(), e.aliases(), e.hidden());
        }
    }

    /** A template found in a verified index, with the URI of its file (same origin as the index). */
    public record Resolved(ImageSource source, IndexEntry entry, URI fileUri) {
    }

    public List<ImageSource> sources() {
        return sources;
    }

    /** Fetches, verifies and parses one source's index. */
    public TemplateIndex index(ImageSource source) {
        byte[] verified;
        if (source.clearsigned()) {
            byte[] signed = transport.fetchSmall(source.name(), source.uri());
            verified = gpg.verifyClearsigned(source.name(), signed, source.keyFile(), source.fingerprint());
        } else {
            byte[] data = transport.fetchSmall(source.name(), source.uri());
            byte[] sig;
            try {
                sig = transport.fetchSmall(source.name(), URI.create(source.uri() + ".sig"));
            } catch (io.jvirt.error.JvirtException e) {
                throw ImageException.badSignature(source.name(), "the index has no detached signature "
                        + source.uri() + ".sig (unsigned indexes are refused)");
            }
            gpg.verifyDetached(source.name(), data, sig, source.keyFile(), source.fingerprint());
            verified = data;
        }
        try {
            TemplateIndex index = IndexParser.parse(new String(verified, StandardCharsets.UTF_8));
            for (IndexEntry e : index.entries()) {
                fileUri(source, e); // refuse the whole index if one entry points elsewhere
            }
            return index;
        } catch (IndexFormatException e) {
            throw ImageException.badIndex(source.name(), e.getMessage());
        }
    }

    /** Visible templates of every source (or of one, by name), in source then index order. */
    public List<TemplateView> list(String onlySource) {
        List<TemplateView> all = new ArrayList<>();
        for (ImageSource s : sources) {
            if (onlySource != null && !onlySource.equals(s.name())) {
                continue;
            }
            for (IndexEntry e : index(s).visible()) {
                all.add(TemplateView.of(s.name(), e));
            }
        }
        if (onlySource != null && sources.stream().noneMatch(s -> s.name().equals(onlySource))) {
            throw new io.jvirt.error.JvirtException(io.jvirt.error.ErrorCode.NOT_FOUND, "no image source '" + onlySource + "'",
                    Map.of("source", onlySource));
        }
        return all;
    }

    /** The first source (or the named one) whose index has this id or alias, hidden ones included. */
    public Resolved resolve(String template, String onlySource) {
        for (ImageSource s : sources) {
            if (onlySource != null && !onlySource.equals(s.name())) {
                continue;
            }
            var found = index(s).find(template);
            if (found.isPresent()) {
                return new Resolved(s, found.get(), fileUri(s, found.get()));
            }
        }
        throw ImageException.notFound(template);
    }

    /**
     * virt-builder's same-origin rule: {@code file=} is a plain relative path under the index's directory, never
     * absolute, never a URL, never climbing out with {@code ..}.
     */
    static URI fileUri(ImageSource source, IndexEntry e) {
        String f = e.file();
        boolean bad = f.startsWith("/") || f.contains("\\") || f.contains(":") || f.contains("?") || f.contains("#")
                || f.contains("%") || f.isBlank();
        for (String seg : f.split("/")) {
            bad |= seg.equals("..") || seg.equals(".") || seg.isEmpty();
        }
        if (bad) {
            throw ImageException.badIndex(source.name(), "[" + e.id() + "] file=" + f
                    + " must be a relative path beside the index (no URL, no absolute path, no ..)");
        }
        return source.uri().resolve(f);
    }
}
