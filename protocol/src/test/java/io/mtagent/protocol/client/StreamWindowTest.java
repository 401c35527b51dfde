package io.mtagent.protocol.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.DiskState;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.WriteFrame;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/**
 * The sender's stream state without a connection: numbering, credit, what is kept for re-sending and when it is
 * let go, and the refusal of a DISK_OPENED that reports less than was acknowledged (SPEC.md §6.1).
 */
class StreamWindowTest {
    private static WriteFrame write(long seq) {
        return new WriteFrame(1, seq, 1, 0, 512, 0, 0, Unpooled.buffer(512).writeZero(512));
    }

    @Test
    void aFreshStreamIsNumberedFromTheAgentsDurablePointAndHoldsNothing() {
        StreamWindow w = new StreamWindow();
        assertThat(w.oldestSeqForOpen()).as("oldestSeq 0: holds nothing").isZero();
        assertThat(w.opened(41, 1000)).isNull();
        assertThat(w.nextSeq()).isEqualTo(42);
        assertThat(w.hasCredit(1000)).isTrue();
        assertThat(w.hasCredit(1001)).isFalse();
    }

    @Test
    void framesAreKeptUntilAckedThenReleasedAndCreditFlowsBack() {
        StreamWindow w = new StreamWindow();
        w.opened(0, 2000);
        WriteFrame a = write(1);
        WriteFrame b = write(2);
        w.sent(1, a, 600);
        w.sent(2, b, 600);
        w.sent(3, new Frames.Tag(1, 3, 1, TagType.CRASH_CONSISTENT, "t"), 50);
        assertThat(w.nextSeq()).isEqualTo(4);
        assertThat(w.hasCredit(751)).isFalse();
        assertThat(w.wireQueued()).isEqualTo(1250);
        assertThat(w.oldestSeqForOpen()).as("re-send from the oldest unacked").isEqualTo(1);

        assertThat(w.acked(1)).isTrue();
        assertThat(a.refCnt()).as("released once acknowledged").isZero();
        assertThat(b.refCnt()).isEqualTo(1);
        assertThat(w.acked(1)).as("a repeated ACK is ignored").isFalse();
        assertThat(w.unackedFrames()).isEqualTo(2);
        w.credited(600);
        assertThat(w.hasCredit(1350)).isTrue();

        w.releaseAll();
        assertThat(b.refCnt()).isZero();
        assertThat(w.unackedFrames()).isZero();
    }

    @Test
    void aReopenKeepsNumberingAndReSendsOnlyWhatTheAgentDoesNotHold() {
        StreamWindow w = new StreamWindow();
        w.opened(0, 10_000);
        for (long seq = 1; seq <= 4; seq++) {
            w.sent(seq, write(seq), 600);
        }
        w.acked(1);
        assertThat(w.oldestSeqForOpen()).isEqualTo(2);
        assertThat(w.opened(2, 10_000)).as("the agent holds more than we saw acked: fine").isNull();
        assertThat(w.resendAfter(2)).extracting(StreamWindow.Pending::seq).containsExactly(3L, 4L);
        assertThat(w.nextSeq()).as("numbering continues").isEqualTo(5);
        assertThat(w.hasCredit(10_000)).as("the open resets the credit to its window").isTrue();
        w.resent(600);
        w.resent(600);
        assertThat(w.hasCredit(8_800)).as("a re-send costs credit again (SPEC.md §7)").isTrue();
        assertThat(w.hasCredit(8_801)).isFalse();
        assertThat(w.wireQueued()).as("re-sends are not counted as new traffic").isEqualTo(2_400);
        assertThat(w.ackedSeq()).isEqualTo(2);
        w.releaseAll();
    }

    @Test
    void aReopenReportingLessThanWasAcknowledgedIsLostDataNotPaperedOver() {
        StreamWindow w = new StreamWindow();
        w.opened(0, 10_000);
        w.sent(1, write(1), 600);
        w.sent(2, write(2), 600);
        w.acked(2);
        w.oldestSeqForOpen();
        assertThat(w.opened(1, 10_000)).contains("lastDurableSeq 1").contains("had acknowledged 2")
                .contains("lost");
    }

    @Test
    void anAckOvertakingTheOpenAnswerIsNotMistakenForLoss() {
        StreamWindow w = new StreamWindow();
        w.opened(0, 10_000);
        w.sent(1, write(1), 600);
        w.sent(2, write(2), 600);
        w.oldestSeqForOpen(); // OPEN_DISK sent with nothing acked ...
        w.acked(2); // ... an ACK for a re-send arrives before DISK_OPENED(lastDurableSeq 1)
        assertThat(w.opened(1, 10_000)).isNull();
        assertThat(w.resendAfter(1)).isEmpty();
    }

    @Test
    void needsResyncSupersedesTheUnsentTail() {
        StreamWindow w = new StreamWindow();
        w.opened(0, 10_000);
        WriteFrame a = write(1);
        w.sent(1, a, 600);
        w.sent(2, write(2), 600);
        w.supersede(0);
        assertThat(a.refCnt()).isZero();
        assertThat(w.unackedFrames()).isZero();
        assertThat(w.nextSeq()).as("RESYNC_START numbered lastDurableSeq + 1").isEqualTo(1);
    }

    @Test
    void whichStatesAStreamMayNotSendIn() {
        assertThat(StreamWindow.refusalAtOpen(DiskState.PROTECTED, Protocol.VERSION_1)).isNull();
        assertThat(StreamWindow.refusalAtOpen(DiskState.NEEDS_RESYNC, Protocol.VERSION_1))
                .isEqualTo(ErrorCode.DISK_NEEDS_RESYNC);
        assertThat(StreamWindow.refusalAtOpen(DiskState.NEEDS_RESYNC, Protocol.VERSION_2)).as("v2 resyncs").isNull();
        assertThat(StreamWindow.refusalAtOpen(DiskState.RECOVERING, Protocol.VERSION_2))
                .isEqualTo(ErrorCode.DISK_RECOVERING);
        assertThat(StreamWindow.refusalAtOpen(DiskState.FAILED, Protocol.VERSION_2)).isEqualTo(ErrorCode.DISK_FAILED);
    }
}
