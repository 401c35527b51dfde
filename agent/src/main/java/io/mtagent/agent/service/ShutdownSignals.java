package io.mtagent.agent.service;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import sun.misc.Signal;

/**
 * SIGTERM/SIGINT handling for the daemon: the first signal starts the clean shutdown on its own thread; a
 * second one while that runs forces the exit ({@code Runtime.halt(130)}), for an operator who would rather lose
 * the in-flight (unacknowledged) work than wait. Acknowledged writes are durable either way.
 *
 * <p>Why {@code sun.misc.Signal} (module jdk.unsupported) and not a shutdown-hook counter: once the first
 * signal has started the JVM's shutdown sequence, a second SIGTERM does nothing at all, so a hook can never see
 * it. The handler replaces the JVM's default for these two signals only; shutdown hooks still run on
 * {@code System.exit}. Where the signals cannot be handled (some platforms) the JVM default stays: one signal,
 * shutdown hooks.
 */
public final class ShutdownSignals {
    private static final Logger LOG = Logger.getLogger(ShutdownSignals.class.getName());

    private ShutdownSignals() {
    }

    /** @return true if the handlers were installed (else rely on a shutdown hook) */
    public static boolean install(Runnable cleanShutdown) {
        AtomicInteger count = new AtomicInteger();
        boolean any = false;
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), sig -> {
                    if (count.incrementAndGet() == 1) {
                        LOG.info("SIG" + sig.getName() + ": clean shutdown (send it again to force the exit)");
                        Thread t = new Thread(cleanShutdown, "clean-shutdown");
                        t.start();
                    } else {
                        System.err.println("mtagent: second SIG" + sig.getName() + ": forcing exit without a clean"
                                + " shutdown (acknowledged writes are safe; the next start scans the ingest logs)");
                        Runtime.getRuntime().halt(130);
                    }
                });
                any = true;
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.fine("signal " + name + " cannot be handled here: " + e.getMessage());
            }
        }
        return any;
    }
}
