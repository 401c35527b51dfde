package io.mtagent.agent.journal;

import io.mtagent.agent.log.SegmentHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Damages a sealed journal segment the way a failing disk would, for tests outside this package (the record layout,
 * {@link JournalFormat}, is the journal's own).
 */
public final class JournalDamage {
    private JournalDamage() {
    }

    /**
     * Flips one bit inside the first before-image with a seq above {@code afterSeq} in {@code segment}.
     *
     * @return the file offset of the flipped byte, or -1 when the segment holds no such before-image
     */
    public static long flipBeforeImageAfter(Path segment, long afterSeq) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long pos = SegmentHeader.LENGTH;
            ByteBuffer rec = ByteBuffer.allocate(8 + JournalFormat.BODY_HEADER_LENGTH);
            while (pos < ch.size()) {
                ch.read(rec.clear(), pos);
                long seq = rec.getLong(8 + 16);
                if (rec.get(8) == JournalFormat.TYPE_BEFORE_IMAGE && seq > afterSeq) {
                    long flipped = pos + 8 + JournalFormat.BODY_HEADER_LENGTH + 100; // inside the before-image
                    ByteBuffer one = ByteBuffer.allocate(1);
                    ch.read(one, flipped);
                    ch.write(ByteBuffer.wrap(new byte[] {(byte) (one.get(0) ^ 0x40)}), flipped);
                    return flipped;
                }
                pos += JournalFormat.recordLength(rec.getInt(8 + 4));
            }
        }
        return -1;
    }
}
