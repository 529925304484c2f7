package io.jvirt.cli;

import io.jvirt.pki.CertificateAuthority;
import io.jvirt.pki.KeyType;
import io.jvirt.pki.Validity;
import io.jvirt.tls.Identity;
import io.jvirt.tls.Role;
import io.jvirt.tls.TlsDir;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvirt pki}: the CA, host and client certificates of mutual TLS (docs/security.md), written locally (no
 * daemon involved). The only command that loads BouncyCastle (through {@code io.jvirt.pki}); it is registered only
 * when invoked (see {@link CommandTree}), so ordinary commands never load it.
 */
@Command(name = "pki", description = "Certificates for remote access over mutual TLS (no daemon needed).",
        subcommands = {PkiCommands.InitCmd.class, PkiCommands.IssueServerCmd.class, PkiCommands.IssueClientCmd.class})
final class PkiCommands {
    static final String DEFAULT_DIR = "/etc/jvirt/tls";

    abstract static class PkiCmd extends CliCommand {
        @Option(names = "--dir", paramLabel = "DIR", defaultValue = DEFAULT_DIR,
                description = "The CA's directory (jvirtd --tls-dir). Default: ${DEFAULT-VALUE}")
        Path dir;

        @Option(names = "--days", paramLabel = "N", description = "Validity in days (default: CA 3653, others 730).")
        Long days;

        @Option(names = "--rsa", description = "RSA 3072 keys instead of EC P-256.")
        boolean rsa;

        KeyType keyType() {
            return rsa ? KeyType.RSA_3072 : KeyType.EC_P256;
        }

        Validity validity(Validity fallback) throws CliException {
            if (days == null) return fallback;
            if (days <= 0) throw CliException.usage("--days must be positive");
            return Validity.days(days);
        }

        void line(String text) {
            out().line(text);
        }

        @Override
        public Integer call() throws Exception {
            try {
                issue();
            } catch (IllegalArgumentException e) {
                throw CliException.usage(e.getMessage());
            } catch (java.nio.file.FileAlreadyExistsException e) {
                throw new CliException(JvirtCli.EXIT_CONFLICT, e.getFile() + ": " + e.getReason());
            }
            return JvirtCli.EXIT_OK;
        }

        abstract void issue() throws Exception;
    }

    @Command(name = "init", description = "Make the CA (ca.pem, ca-key.pem) in --dir.")
    static final class InitCmd extends PkiCmd {
        @Option(names = "--name", paramLabel = "NAME", defaultValue = "jvirt CA", description = "The CA's common name.")
        String name;

        @Override
        void issue() throws Exception {
            TlsDir d = new TlsDir(dir);
            CertificateAuthority ca = CertificateAuthority.init(d, name, keyType(), validity(Validity.caDefault()));
            line("CA " + ca.certificate().getSubjectX500Principal().getName() + " in " + d.caCert()
                    + " (key " + d.caKey() + ", 0600)");
        }
    }

    @Command(name = "issue-server", description = "A host certificate (server.pem, server-key.pem) for jvirtd "
            + "--listen: every name and address clients use.")
    static final class IssueServerCmd extends PkiCmd {
        @Parameters(paramLabel = "HOST", arity = "1..*", description = "DNS names and IP addresses of the host.")
        List<String> hosts;

        @Option(names = "--out", paramLabel = "DIR", description = "Write into DIR (to copy to another host) instead of --dir.")
        Path outDir;

        @Override
        void issue() throws Exception {
            CertificateAuthority ca = CertificateAuthority.open(new TlsDir(dir));
            TlsDir target = new TlsDir(outDir != null ? outDir : dir);
            CertificateAuthority.Issued issued = ca.issueHost(target, hosts, keyType(), validity(Validity.leafDefault()));
            line("host certificate " + Identity.of(issued.certificate()).subject() + " for " + String.join(", ", hosts)
                    + " in " + issued.certFile() + " (key " + issued.keyFile() + ")");
        }
    }

    @Command(name = "issue-client", description = "A client certificate (read-write unless --read-only) in "
            + "DIR/clients, and with --out a directory for the client (--tls-dir / JVIRT_TLS_DIR).")
    static final class IssueClientCmd extends PkiCmd {
        @Parameters(paramLabel = "NAME", description = "Who the certificate is for (letters, digits, . _ -).")
        String name;

        @Option(names = "--read-only", description = "Role jvirt-read-only: every GET and the event stream, nothing else.")
        boolean readOnly;

        @Option(names = "--out", paramLabel = "DIR", description = "Also write ca.pem, client.pem, client-key.pem "
                + "into DIR, ready to copy to the client's ~/.config/jvirt/tls.")
        Path outDir;

        @Override
        void issue() throws Exception {
            CertificateAuthority ca = CertificateAuthority.open(new TlsDir(dir));
            Role role = readOnly ? Role.READ_ONLY : Role.READ_WRITE;
            CertificateAuthority.Issued issued = ca.issueClient(name, role, keyType(), validity(Validity.leafDefault()));
            line("client certificate " + Identity.of(issued.certificate()).subject() + " in " + issued.certFile());
            if (outDir != null) {
                ca.exportClient(name, outDir);
                line("client directory " + outDir + " (ca.pem, client.pem, client-key.pem): copy it to the client's "
                        + "~/.config/jvirt/tls or point JVIRT_TLS_DIR at it");
            }
        }
    }
}
