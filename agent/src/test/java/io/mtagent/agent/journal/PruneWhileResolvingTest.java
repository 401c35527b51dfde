package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resolving a time or a point takes no lease (the caller leases the seq it resolved), so the pruner may delete the
 * segment whose index a resolution is about to read. The answer must then be "no longer held" (a refusal, HTTP 409),
 * never a missing-file error (an export once failed with HTTP 500 {@code NoSuchFileException} in the power-loss test).
 */
class PruneWhileResolvingTest {
    private static final long SEGMENT = 64 << 10;
    private static final int RECORDS = 1500;
    private static final int ROUNDS = 4;

    @TempDir
    Path tmp;

    @Test
    void resolvingInASegmentBeingPrunedIsARefusalNotAnError() throws Exception {
        List<String> errors = new ArrayList<>();
        int refusals = 0;
        for (int round = 0; round < ROUNDS && errors.isEmpty(); round++) {
            // An index cache of one byte: every lookup in a sealed segment reads its index file.
            try (RetentionJournal j = RetentionJournal.open(tmp.resolve("j" + round), SEGMENT, new IndexCache(1))) {
                byte[] data = new byte[4096];
                for (long seq = 1; seq <= RECORDS; seq++) {
                    j.appendBeforeImage(seq, seq * 1000, 0, ByteBuffer.wrap(data));
                    if (seq % 256 == 0) {
                        j.sync();
                    }
                }
                j.sync();
                AtomicBoolean done = new AtomicBoolean();
                Thread pruner = new Thread(() -> {
                    try {
                        while (j.pruneOldestSegment()) {
                            Thread.onSpinWait();
                        }
                    } catch (Exception e) {
                        synchronized (errors) {
                            errors.add("pruner: " + e);
                        }
                    } finally {
                        done.set(true);
                    }
                });
                pruner.start();
                while (!done.get()) {
                    // Aim inside the oldest held segment, not at its first or last record (those are answered from
                    // the in-memory summary without reading the index).
                    long seq = Math.min(RECORDS, j.earliestSeq() + 5);
                    try {
                        long t = j.timestampOf(seq);
                        assertThat(t).isIn(-1L, seq * 1000);
                        long s = j.seqAtOrBefore(seq * 1000);
                        assertThat(s).isIn(0L, seq);
                    } catch (IllegalStateException refused) {
                        assertThat(refused).hasMessageContaining("no longer held");
                        refusals++;
                    } catch (UncheckedIOException e) {
                        errors.add("resolution failed instead of being refused: " + e.getCause());
                        break;
                    }
                }
                pruner.join();
            }
        }
        assertThat(errors).isEmpty();
        System.out.println("PruneWhileResolvingTest: " + refusals + " resolutions refused as no longer held");
    }
}
