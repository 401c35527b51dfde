package io.mtagent.agent.ingest;

/** Opens {@link IngestLog}'s package-private test seams to tests in other packages (the session's, for one). */
public final class IngestLogSeams {
    private IngestLogSeams() {
    }

    /** Runs {@code hook} on the log's writer thread right before each group commit's fdatasync. */
    public static void beforeGroupSync(IngestLog log, Runnable hook) {
        log.setBeforeGroupSync(hook);
    }
}
