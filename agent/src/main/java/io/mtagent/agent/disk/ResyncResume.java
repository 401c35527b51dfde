package io.mtagent.agent.disk;

import io.mtagent.agent.ingest.DiskStateStore;
import io.mtagent.agent.ingest.IngestLog;
import io.mtagent.agent.ingest.IngestRecord;
import io.mtagent.agent.resync.ResyncMarkers;

/** Where a resync persisted in a disk's state resumes after a restart. Stateless. */
final class ResyncResume {
    private ResyncResume() {
    }

    /**
     * The persisted resync plus the highest PROGRESS marker that is durable in the ingest log but not applied yet
     * (the applier persists progress as it passes the markers; a crash may come in between).
     */
    static DiskStateStore.Resync of(DiskStateStore.Resync r, IngestLog log) {
        long done = r.doneOffset();
        for (IngestRecord t : log.durableTagsAfter(log.appliedSeq())) {
            if (t.tagType() == ResyncMarkers.PROGRESS && ResyncMarkers.progressId(t.tagName()) == r.id()) {
                done = Math.max(done, ResyncMarkers.progressDone(t.tagName()));
            }
        }
        return r.withDone(done);
    }
}
