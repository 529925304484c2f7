package io.jvirt.blockcopy;

import java.util.LinkedHashMap;
import java.util.Map;

/** What the API shows of a copy: its record, live progress while it runs, and in words how it ended. */
public final class CopyView {
    private CopyView() {
    }

    /** A copy on record (ended, or seen without its live state). */
    public static Map<String, Object> of(CopyRecord r) {
        return of(r, null, false, null);
    }

    public static Map<String, Object> of(CopyRecord r, CopyProgress p, boolean ready, String lastError) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vm", r.vm());
        m.put("disk", r.disk());
        m.put("job", r.jobId());
        m.put("phase", r.ended() ? r.step().wire() : ready ? "ready" : r.step().wire());
        m.put("active", !r.ended());
        m.put("source", r.source());
        m.put("dest", r.dest());
        m.put("format", r.destFormat());
        m.put("shallow", r.shallow());
        m.put("since", r.since());
        m.put("updated", r.updated());
        if (p != null) {
            m.put("progress", p);
        }
        if (lastError != null) {
            m.put("lastError", lastError);
        }
        if (r.ended()) {
            m.put("activeImage", r.active());
            m.put("message", describeEnd(r));
        }
        if (r.pauseMillis() != null) {
            m.put("pivotPauseMillis", r.pauseMillis());
        }
        return m;
    }

    static String describeEnd(CopyRecord r) {
        return switch (r.step()) {
            case PIVOTED -> "pivoted at " + r.updated() + ": the guest now uses " + r.active();
            case FINISHED, ABORTED, FAILED -> r.error() != null ? r.error() : r.step().wire();
            default -> r.step().wire();
        };
    }
}
