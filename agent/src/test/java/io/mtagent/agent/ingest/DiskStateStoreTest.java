package io.mtagent.agent.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.protocol.DiskState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskStateStoreTest {
    @TempDir
    Path tmp;

    @Test
    void missingFileStartsAtEpochZeroProtected() throws Exception {
        DiskStateStore s = DiskStateStore.load(tmp.resolve("d1.state"));
        assertThat(s.current()).isEqualTo(new DiskStateStore.Snapshot(0, DiskState.PROTECTED, ""));
        assertThat(tmp.resolve("d1.state")).doesNotExist();
    }

    @Test
    void roundTripsEveryStateAndOddReasons() throws Exception {
        Path f = tmp.resolve("sub/dir/d1.state");
        DiskStateStore s = DiskStateStore.load(f);
        String[] reasons = {"", "target write failed: EIO at 4096", "multi\nline = with: colons\\ and ünïcödé", null};
        long epoch = 1;
        for (DiskState state : DiskState.values()) {
            for (String reason : reasons) {
                DiskStateStore.Snapshot snap = new DiskStateStore.Snapshot(epoch, state, reason);
                s.save(snap);
                DiskStateStore.Snapshot back = DiskStateStore.load(f).current();
                assertThat(back).isEqualTo(new DiskStateStore.Snapshot(epoch, state, reason == null ? "" : reason));
                epoch = epoch * 31 + 7;
            }
        }
        s.save(new DiskStateStore.Snapshot(Long.MAX_VALUE, DiskState.NEEDS_RESYNC, "x"));
        assertThat(DiskStateStore.load(f).current().epoch()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void damagedFilesAreRefusedNamingTheFile() throws Exception {
        Path f = tmp.resolve("d1.state");
        String[] damaged = {
            "format=1\nstate=protected\n",                // epoch missing
            "format=1\nepoch=12x\nstate=protected\n",      // epoch not a number
            "format=1\nepoch=3\nstate=sleeping\n",         // unknown state
            "format=2\nepoch=3\nstate=protected\n",        // unknown format
            "",                                            // empty (truncated)
            "format=1\nepoch=3\nstate=protected\nreason=\\u12\n", // malformed escape
        };
        for (String content : damaged) {
            Files.writeString(f, content);
            assertThatThrownBy(() -> DiskStateStore.load(f)).as("content %s", content)
                    .isInstanceOf(IOException.class).hasMessageContaining(f.toString());
        }
        // Binary garbage (not UTF-8), as a bad sector or a foreign file would leave.
        Files.write(f, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, (byte) 0xc3, 0x28, '=', '\n'});
        assertThatThrownBy(() -> DiskStateStore.load(f)).isInstanceOf(IOException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void aResyncInProgressRoundTripsAndAFileWithoutOneStillLoads() throws Exception {
        Path f = tmp.resolve("d2.state");
        DiskStateStore s = DiskStateStore.load(f);
        DiskStateStore.Resync r = new DiskStateStore.Resync(Long.MAX_VALUE, "differential", 1 << 20, 0, 256L << 20, 17,
                64L << 20);
        s.save(new DiskStateStore.Snapshot(3, DiskState.RESYNCING, "resync", r));
        assertThat(DiskStateStore.load(f).current().resync()).isEqualTo(r);
        s.save(new DiskStateStore.Snapshot(3, DiskState.PROTECTED, "done"));
        assertThat(DiskStateStore.load(f).current().resync()).isNull();
        // A file written before resync existed (no resync keys) loads as before.
        Files.writeString(f, "format=1\nepoch=5\nstate=needs-resync\nreason=gap\n");
        assertThat(DiskStateStore.load(f).current()).isEqualTo(new DiskStateStore.Snapshot(5, DiskState.NEEDS_RESYNC, "gap"));
        // The numbers of the first four states are the wire's and never move.
        assertThat(DiskState.PROTECTED.code()).isEqualTo(1);
        assertThat(DiskState.NEEDS_RESYNC.code()).isEqualTo(2);
        assertThat(DiskState.FAILED.code()).isEqualTo(3);
        assertThat(DiskState.RECOVERING.code()).isEqualTo(4);
    }
}
