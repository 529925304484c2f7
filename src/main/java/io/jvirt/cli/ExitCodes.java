package io.jvirt.cli;

import io.jvirt.error.ErrorCode;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * How a failure ends {@code jvirt}: its exit code (docs/cli.md) and its message. An API error maps by the
 * {@link ErrorCode.Kind} of its code, so a new code gets the right exit code where it is declared; a code this client
 * does not know maps by the HTTP status class. {@link CommandTree} hands {@link #of} to picocli as its
 * {@code IExitCodeExceptionMapper}; the quick path (no picocli) calls it directly.
 */
final class ExitCodes {
    private ExitCodes() {
    }

    /** The exit code for a failure of a command. */
    static int of(Throwable t) {
        if (t instanceof ApiException a) return forApiError(a.code(), a.status());
        if (t instanceof CliException c) return c.exitCode;
        if (t instanceof DaemonUnreachableException || t instanceof io.jvirt.tls.TlsFailure) return JvirtCli.EXIT_UNREACHABLE;
        if (t instanceof SocketTimeoutException) return JvirtCli.EXIT_TIMEOUT;
        if (t instanceof Definitions.InvalidFileException) return JvirtCli.EXIT_INVALID;
        return JvirtCli.EXIT_FAILURE;
    }

    /** An API error code (e.g. {@code vm-busy}) and the HTTP status it came with (-1 from an operation). */
    static int forApiError(String wire, int status) {
        ErrorCode code = ErrorCode.fromWire(wire);
        if (code != null) return forKind(code.kind());
        return switch (status) { // a code this client does not know: go by the HTTP status class
            case 400 -> JvirtCli.EXIT_INVALID;
            case 404 -> JvirtCli.EXIT_NOT_FOUND;
            case 409 -> JvirtCli.EXIT_CONFLICT;
            case 504 -> JvirtCli.EXIT_TIMEOUT;
            case 503 -> JvirtCli.EXIT_UNAVAILABLE;
            default -> JvirtCli.EXIT_FAILURE;
        };
    }

    static int forKind(ErrorCode.Kind kind) {
        return switch (kind) {
            case INVALID -> JvirtCli.EXIT_INVALID;
            case NOT_FOUND -> JvirtCli.EXIT_NOT_FOUND;
            case CONFLICT -> JvirtCli.EXIT_CONFLICT;
            case TIMEOUT -> JvirtCli.EXIT_TIMEOUT;
            case QEMU -> JvirtCli.EXIT_QEMU;
            case FAILURE -> JvirtCli.EXIT_FAILURE;
            case UNAVAILABLE -> JvirtCli.EXIT_UNAVAILABLE;
        };
    }

    /** The line after {@code jvirt: error: }: the daemon's message when it sent one. */
    static String message(Throwable t, String target) {
        if (t instanceof ApiException || t instanceof CliException || t instanceof SocketTimeoutException
                || t instanceof DaemonUnreachableException || t instanceof Definitions.InvalidFileException
                || t instanceof io.jvirt.tls.TlsFailure) {
            return t.getMessage();
        }
        if (t instanceof IOException) return "talking to jvirtd at " + (target == null ? "?" : target) + ": " + t.getMessage();
        return t.toString();
    }

    /** The "Exit codes" section of {@code jvirt --help}, listing the API error codes of each from {@link ErrorCode}. */
    static String[] helpFooter() {
        List<String> lines = new ArrayList<>();
        lines.add("  0  success");
        codes(lines, JvirtCli.EXIT_FAILURE, "other failure", ErrorCode.Kind.FAILURE);
        lines.add("  2  usage error");
        codes(lines, JvirtCli.EXIT_NOT_FOUND, "not found", ErrorCode.Kind.NOT_FOUND);
        codes(lines, JvirtCli.EXIT_CONFLICT, "conflict", ErrorCode.Kind.CONFLICT);
        lines.add("  5  jvirtd unreachable, or the TLS connection refused (certificate)");
        codes(lines, JvirtCli.EXIT_TIMEOUT, "timeout", ErrorCode.Kind.TIMEOUT);
        codes(lines, JvirtCli.EXIT_INVALID, "invalid input", ErrorCode.Kind.INVALID);
        codes(lines, JvirtCli.EXIT_QEMU, "QEMU failed", ErrorCode.Kind.QEMU);
        codes(lines, JvirtCli.EXIT_UNAVAILABLE, "jvirtd busy, retry later", ErrorCode.Kind.UNAVAILABLE);
        lines.add("Unknown error codes go by the HTTP status: 400 7, 404 3, 409 4, 503 9, 504 6, else 1.");
        return lines.toArray(new String[0]);
    }

    private static void codes(List<String> lines, int exit, String meaning, ErrorCode.Kind kind) {
        StringBuilder line = new StringBuilder("  ").append(exit).append("  ").append(meaning).append(" (");
        String sep = "";
        for (ErrorCode c : ErrorCode.values()) {
            if (c.kind() != kind) continue;
            if (line.length() + sep.length() + c.code().length() > 78) {
                lines.add(line.append(sep.strip()).toString());
                line = new StringBuilder("     ");
                sep = "";
            }
            line.append(sep).append(c.code());
            sep = ", ";
        }
        lines.add(line.append(')').toString());
    }
}
