package io.jvirt.admin;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * Who is at the other end of a Unix socket connection, from the kernel ({@code SO_PEERCRED}, taken when the
 * client connected): user and group (ids and names) and, when it can be found, the process id.
 *
 * <p>The JDK gives the user and group as principals (names; a number when the id has no name); the ids come back
 * from /etc/passwd and /etc/group. It does not give the pid, so {@link #pidOf} asks the socket table
 * ({@code ss -xp}) for the process holding the peer end of our socket, found by its inode through our own file
 * descriptor, when the JVM lets us read that descriptor ({@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED},
 * as bin/jvirtd starts the daemon); otherwise the pid is unknown (-1).
 */
public record PeerCredentials(int uid, int gid, String user, String group, int fd) {

    /** The peer of a connected Unix channel, or empty (not a Unix channel, or the option is not supported). */
    public static Optional<PeerCredentials> of(SocketChannel channel) {
        try {
            UnixDomainPrincipal p = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
            String user = p.user().getName();
            String group = p.group().getName();
            return Optional.of(new PeerCredentials(idOf(user, Path.of("/etc/passwd")), idOf(group, Path.of("/etc/group")),
                    user, group, fdOf(channel)));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** A name's numeric id from a passwd-style file ("name:x:id:..."), or the name itself when it is a number. */
    static int idOf(String name, Path table) {
        if (name.chars().allMatch(Character::isDigit) && !name.isEmpty()) {
            return Integer.parseInt(name);
        }
        try {
            for (String line : Files.readAllLines(table)) {
                String[] f = line.split(":", -1);
                if (f.length > 2 && f[0].equals(name)) {
                    return Integer.parseInt(f[2]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown below
        }
        return -1;
    }

    /** Our descriptor of the channel, read through the JDK's internal channel interface if it is exported to us. */
    private static int fdOf(SocketChannel channel) {
        try {
            Class<?> selCh = Class.forName("sun.nio.ch.SelChImpl");
            if (selCh.isInstance(channel)) {
                return (Integer) selCh.getMethod("getFDVal").invoke(channel);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // not exported to us: the pid stays unknown
        }
        return -1;
    }

    /** The pid of the process at the other end, or -1 when it cannot be found (see the class comment). */
    public long pidOf() {
        if (fd < 0) {
            return -1;
        }
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString(); // socket:[INODE]
            if (!link.startsWith("socket:[")) {
                return -1;
            }
            String ours = link.substring(8, link.length() - 1);
            return SocketTable.peerPid(ours);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** {@code ss -xpnH}: Unix sockets with their inode, their peer's inode and the processes holding them. */
    static final class SocketTable {
        private SocketTable() {
        }

        static long peerPid(String ourInode) throws IOException {
            List<String[]> rows = rows();
            String peer = null;
            for (String[] r : rows) {
                if (r.length > 7 && r[5].equals(ourInode)) {
                    peer = r[7];
                }
            }
            if (peer == null) {
                return -1;
            }
            for (String[] r : rows) {
                if (r.length > 6 && r[5].equals(peer)) {
                    String line = String.join(" ", r);
                    int at = line.indexOf("pid=");
                    if (at >= 0) {
                        int end = at + 4;
                        while (end < line.length() && Character.isDigit(line.charAt(end))) {
                            end++;
                        }
                        return Long.parseLong(line.substring(at + 4, end));
                    }
                }
            }
            return -1;
        }

        private static List<String[]> rows() throws IOException {
            Process p = new ProcessBuilder("ss", "-xpnH").redirectErrorStream(true).start();
            try {
                String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                p.waitFor();
                // columns: netid state recv-q send-q local-address local-port peer-address peer-port [process]
                return out.lines().map(String::strip).filter(l -> !l.isEmpty()).map(l -> l.split("\\s+")).toList();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            } finally {
                p.destroy();
            }
        }
    }
}
