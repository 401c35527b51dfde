package io.mtagent.agent.control;

import java.util.Locale;

/**
 * The health rules with their stable codes: operators search for the code, so a code never changes meaning and is
 * never reused. Warnings are 1xxx, critical problems 2xxx. The README's troubleshooting table lists each one with
 * what to do.
 */
public enum HealthRule {
    RPO_OVER_THRESHOLD("MT-1001", Severity.WARNING, true),
    NO_APP_CONSISTENT_POINT("MT-1002", Severity.WARNING, true),
    /** The space cap forced pruning inside the time window. */
    RETENTION_WINDOW_SHORT("MT-1003", Severity.WARNING, true),
    DISK_NEEDS_RESYNC("MT-1004", Severity.WARNING, true),
    /** No retention journal is kept (retention.dir empty): no earlier point can be recovered. */
    POINT_IN_TIME_RECOVERY_OFF("MT-1005", Severity.WARNING, true),
    DISK_FAILED("MT-2001", Severity.CRITICAL, true),
    CACHE_VOLUME_FULL("MT-2002", Severity.CRITICAL, true),
    /** The retention volume is missing or unwritable, a journal failed, or stop-writes holds replication. */
    RETENTION_VOLUME_UNUSABLE("MT-2003", Severity.CRITICAL, true),
    DATA_SERVER_DOWN("MT-2004", Severity.CRITICAL, true),
    /** A retention journal record does not verify (found by a read, the start-up scrub or 'mtagent verify'). */
    RETENTION_JOURNAL_DAMAGED("MT-2005", Severity.CRITICAL, true),
    /** A temporary shortage (volume full, no file descriptors) holds a disk's ingest log; writes wait, none lost. */
    DISK_STALLED("MT-2006", Severity.CRITICAL, true);

    /** Overall and per-rule severity; ordered so that the worst is the largest. */
    public enum Severity {
        OK, WARNING, CRITICAL;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The Nagios-style exit code: 0 ok, 1 warning, 2 critical. */
        public int exitCode() {
            return ordinal();
        }
    }

    private final String code;
    private final Severity severity;
    private final boolean active;

    HealthRule(String code, Severity severity, boolean active) {
        this.code = code;
        this.severity = severity;
        this.active = active;
    }

    public String code() {
        return code;
    }

    public Severity severity() {
        return severity;
    }

    /** False for rules whose subject does not exist yet (retention). */
    public boolean active() {
        return active;
    }
}
