package io.jvirt.blockcopy;

import java.time.Instant;

/** What the daemon pushes on its event stream about a block copy (type {@code blockcopy}). */
public record CopyEvent(String type, String vm, String disk, String job, String phase, CopyProgress progress,
                        String message, Instant time) {

    static CopyEvent of(CopyRecord r, String phase, CopyProgress progress, String message) {
        return new CopyEvent("blockcopy", r.vm(), r.disk(), r.jobId(), phase, progress, message, Instant.now());
    }
}
