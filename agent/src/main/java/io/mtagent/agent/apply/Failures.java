package io.mtagent.agent.apply;

import java.io.IOException;

/** Rethrowing what another thread failed with, as the applier's callers expect it. */
final class Failures {
    private Failures() {
    }

    /**
     * Throws {@code cause} itself when it is an IOException, a RuntimeException or an Error (so the disk's failure
     * names the real reason), otherwise an IOException saying {@code what} failed, with it as the cause.
     */
    static IOException rethrow(Throwable cause, String what) throws IOException {
        if (cause instanceof IOException io) {
            throw io;
        }
        if (cause instanceof RuntimeException re) {
            throw re;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        throw new IOException(what + " failed", cause);
    }
}
