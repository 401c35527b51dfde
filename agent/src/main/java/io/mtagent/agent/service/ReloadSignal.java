package io.mtagent.agent.service;

import java.util.logging.Logger;
import sun.misc.Signal;

/**
 * SIGHUP for the daemon: re-read the configuration (systemd's {@code ExecReload=/bin/kill -HUP $MAINPID}). Without
 * a handler the JVM treats SIGHUP as a request to exit; with it, the agent keeps running and the reload runs on
 * a thread of its own, one at a time (a signal that arrives during a reload runs another one after it).
 * {@code sun.misc.Signal} for the reason given in {@link ShutdownSignals}. Where SIGHUP cannot be handled (Windows)
 * nothing is installed.
 */
public final class ReloadSignal {
    private static final Logger LOG = Logger.getLogger(ReloadSignal.class.getName());

    private ReloadSignal() {
    }

    /** @return true if the handler was installed */
    public static boolean install(Runnable reload) {
        Object oneAtATime = new Object();
        try {
            Signal.handle(new Signal("HUP"), sig -> {
                Thread t = new Thread(() -> {
                    synchronized (oneAtATime) {
                        reload.run();
                    }
                }, "reload");
                t.setDaemon(true);
                t.start();
            });
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            LOG.fine("SIGHUP cannot be handled here: " + e.getMessage());
            return false;
        }
    }
}
