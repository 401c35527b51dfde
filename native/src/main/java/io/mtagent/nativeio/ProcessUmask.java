package io.mtagent.nativeio;

/**
 * The process's file-creation mask ({@code umask(2)}), so that every file and directory the agent creates is
 * private whatever the shell or unit that started it had set: with mask 077 files are created 0600 and directories
 * 0700; with 027 (a configured group) 0640 and 0750. One call at start covers every file the JVM creates later
 * (targets, ingest logs, journals, state, exports), including those opened through {@code FileChannel}.
 *
 * <p>Linux only (the libc binding); elsewhere {@link #set} does nothing and returns -1. Thread-safe (one syscall).
 */
public final class ProcessUmask {
    private ProcessUmask() {
    }

    /** Sets the mask; returns the previous one, or -1 where there is no libc binding (Windows). */
    public static int set(int mask) {
        if (!LibC.AVAILABLE) {
            return -1;
        }
        return LibC.umask(mask);
    }

    /** The current mask (read by setting and restoring it), or -1 without the binding. */
    public static int current() {
        if (!LibC.AVAILABLE) {
            return -1;
        }
        int old = LibC.umask(077);
        LibC.umask(old);
        return old;
    }
}
