package io.mtagent.agent.log;

import java.nio.file.Path;

/**
 * Why a {@link SegmentReader} stopped, and where (etcd's decoder style: a typed reason, never a message to parse).
 * Whether a damaged stop is a torn tail to truncate or corruption to refuse is not the reader's call: it depends
 * on where the checkpoint is ({@link RecoveryRule}).
 *
 * @param offset where the first record that did not verify starts (for {@link Reason#CLEAN_END}: the file's end)
 * @param detail what was found, for the message (a length, the incarnation), or ""
 */
public record ReadStop(Reason reason, Path file, long offset, String detail) {
    /** The ways a read ends. */
    public enum Reason {
        /** The file ends exactly after the last good record. */
        CLEAN_END("clean end"),
        /** Fewer than 8 bytes left where a record would start (or the last record's padding is cut short). */
        TRUNCATED_PREFIX("truncated record prefix"),
        /**
         * A record prefix of zeroes: the writer never preallocates, so zeroes where a record starts are a torn write
         * (after the checkpoint) or a zeroed sector (before it), never a clean end.
         */
        ZEROED_PREFIX("zeroed record header"),
        /** A length word below the body header or above the kind's bound: nothing is allocated for it. */
        BAD_LENGTH("bad record length"),
        /** The length word points past the end of the file (or the file ended while it was read). */
        TRUNCATED_RECORD("truncated record"),
        /** The body does not match its CRC. */
        CRC_MISMATCH("CRC mismatch"),
        /** A record that verifies, of an earlier incarnation of this file (a reused file's leftover). */
        STALE_INCARNATION("record of an earlier incarnation of this file"),
        /** A record that verifies but whose header contradicts itself (payload length, type). */
        INCONSISTENT_HEADER("inconsistent record header");

        private final String text;

        Reason(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    /** The file ended where a record would start: nothing is damaged. */
    public boolean clean() {
        return reason == Reason.CLEAN_END;
    }

    /** The reason in words, with its detail ("bad record length 4294967295"). */
    public String describe() {
        return detail.isEmpty() ? reason.text() : reason.text() + " " + detail;
    }

    @Override
    public String toString() {
        return file + " at " + offset + ": " + describe();
    }
}
