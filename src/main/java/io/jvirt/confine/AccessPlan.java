package io.jvirt.confine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which grants one VM's QEMU needs: its writable disks (the top of each chain) read-write, every backing layer,
 * read-only disk, kernel and initrd read-only, its console log read-write, its run directory (QMP, console and
 * agent sockets, pid file) read-write-search, and search permission on each directory on the way to those that
 * QEMU's user could not pass otherwise (a 0700 state directory holding the default pool, a 0700 home).
 * Directories get search only, never listing.
 */
public final class AccessPlan {
    private final QemuUser user;
    private final Map<Path, Grant.Access> files = new LinkedHashMap<>();

    public AccessPlan(QemuUser user) {
        this.user = user;
    }

    /** A disk: its top writable unless {@code readOnly}, every layer below read-only. */
    public AccessPlan disk(ImageChain chain, boolean readOnly) {
        put(chain.top().path(), readOnly ? Grant.Access.READ : Grant.Access.WRITE);
        chain.backing().forEach(l -> put(l.path(), Grant.Access.READ));
        return this;
    }

    public AccessPlan read(Path file) {
        return put(file, Grant.Access.READ);
    }

    public AccessPlan write(Path file) {
        return put(file, Grant.Access.WRITE);
    }

    public AccessPlan writeDir(Path dir) {
        return put(dir, Grant.Access.WRITE_DIR);
    }

    private AccessPlan put(Path p, Grant.Access a) {
        Grant.Access had = files.get(p);
        files.put(p, had == Grant.Access.WRITE || had == Grant.Access.WRITE_DIR ? had : a);
        return this;
    }

    /** The grants, files first, then the directories that need search permission for QEMU's user. */
    public List<Grant> grants() {
        List<Grant> out = new ArrayList<>();
        files.forEach((p, a) -> out.add(new Grant(p, a)));
        Map<Path, Boolean> seen = new LinkedHashMap<>();
        for (Path p : files.keySet()) {
            for (Path d = p.getParent(); d != null; d = d.getParent()) {
                if (seen.putIfAbsent(d, true) == null && !canSearch(d) && !files.containsKey(d)) {
                    out.add(new Grant(d, Grant.Access.TRAVERSE));
                }
            }
        }
        return out;
    }

    /** From the mode bits alone; when in doubt (an ACL'd directory) a search grant is added, which is harmless. */
    private boolean canSearch(Path dir) {
        try {
            Map<String, Object> a = Files.readAttributes(dir, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            int gid = (Integer) a.get("gid");
            return (mode & 0001) != 0
                    || ((Integer) a.get("uid") == user.uid() && (mode & 0100) != 0)
                    || ((gid == user.gid() || (user.kvmGid() != null && gid == user.kvmGid())) && (mode & 0010) != 0);
        } catch (IOException e) {
            return false;
        }
    }
}
