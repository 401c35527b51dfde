package io.mtagent.agent.resync;

import io.mtagent.agent.apply.ApplyStage;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.ingest.StoredRecord;
import io.mtagent.nativeio.BlockDevice;
import java.io.IOException;
import java.util.List;

/**
 * Wraps the applier's before-image stage: runs it first (before-images of resync writes are journaled like any
 * other), then hands each RESYNC_PROGRESS marker of the batch to a listener, which persists the offset where the
 * resync resumes. A marker reaches the applier only once durable, so the persisted offset never runs ahead of
 * the durable stream. Applier thread only.
 */
public final class ResyncApplyStage implements ApplyStage {
    /** Receives applied progress markers. */
    @FunctionalInterface
    public interface ProgressListener {
        void progressApplied(long resyncId, long doneOffset);
    }

    private final ApplyStage inner;
    private volatile ProgressListener listener = (id, done) -> { };

    public ResyncApplyStage(ApplyStage inner) {
        this.inner = inner;
    }

    /** Set once the disk exists (it is built after its applier). */
    public void setListener(ProgressListener listener) {
        this.listener = listener;
    }

    public ApplyStage inner() {
        return inner;
    }

    @Override
    public boolean pipelines() {
        return inner.pipelines(); // the markers only persist a resume offset, which re-applying makes right
    }

    @Override
    public void landed(long seq) {
        inner.landed(seq);
    }

    @Override
    public void beforeOverwrite(List<StoredRecord> batch, BlockDevice target) throws IOException {
        inner.beforeOverwrite(batch, target);
        for (StoredRecord r : batch) {
            IngestRecord rec = r.record();
            if (rec.type() == IngestRecord.Type.TAG && rec.tagType() == ResyncMarkers.PROGRESS) {
                long id = ResyncMarkers.progressId(rec.tagName());
                long done = ResyncMarkers.progressDone(rec.tagName());
                if (id >= 0 && done >= 0) {
                    listener.progressApplied(id, done);
                }
            }
        }
    }
}
