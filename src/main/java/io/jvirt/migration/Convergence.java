package io.jvirt.migration;

/**
 * The convergence policy, apart from QEMU so it can be tested alone: fed RAM remaining at each pass, it says when
 * the migration stalls (remaining not 10 % below its best over {@link #STALL_PASSES} passes) and what to do: raise
 * the downtime limit (doubling, up to the user's maximum), let auto-converge throttle, or give up with the rates.
 */
final class Convergence {
    static final int STALL_PASSES = 3;

    enum Action { NONE, RAISE_DOWNTIME, THROTTLE, GIVE_UP }

    private long bestRemaining = Long.MAX_VALUE;
    private long passOfBest;
    private long downtimeLimit;
    private final long maxDowntime;
    private final boolean autoConverge;
    private boolean stalled;

    Convergence(long downtimeLimit, long maxDowntime, boolean autoConverge) {
        this.downtimeLimit = downtimeLimit;
        this.maxDowntime = Math.max(downtimeLimit, maxDowntime);
        this.autoConverge = autoConverge;
    }

    long downtimeLimit() {
        return downtimeLimit;
    }

    boolean stalled() {
        return stalled;
    }

    /** One sample at pass {@code pass} with {@code remaining} bytes of RAM left. */
    Action sample(long pass, long remaining) {
        if (pass < 2) {
            return Action.NONE; // the first pass sends all of RAM: nothing to compare
        }
        if (remaining < bestRemaining - bestRemaining / 10) {
            bestRemaining = remaining;
            passOfBest = pass;
            stalled = false;
            return Action.NONE;
        }
        if (pass - passOfBest < STALL_PASSES) {
            return Action.NONE;
        }
        stalled = true;
        if (downtimeLimit < maxDowntime) {
            downtimeLimit = Math.min(maxDowntime, downtimeLimit * 2);
            passOfBest = pass; // give the new limit its passes
            return Action.RAISE_DOWNTIME;
        }
        return autoConverge ? Action.THROTTLE : Action.GIVE_UP;
    }
}
