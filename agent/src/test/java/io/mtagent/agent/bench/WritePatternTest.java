package io.mtagent.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;

class WritePatternTest {
    private static final long DISK = 64L << 20;

    @Test
    void everyProfileStaysOnTheDiskAlignedToItsWriteSize() {
        for (BenchProfile p : BenchProfile.values()) {
            WritePattern w = new WritePattern(p, DISK, 1);
            for (int i = 0; i < 20_000; i++) {
                int length = w.length();
                long offset = w.offset(length);
                assertThat(length).as(p.label()).isBetween(4096, p.maxWriteBytes());
                assertThat(offset + length).as(p.label()).isLessThanOrEqualTo(DISK);
                assertThat(offset % Math.min(length, 65536)).as(p.label()).isZero();
            }
        }
    }

    @Test
    void sequentialWrapsAndRandomSpreads() {
        WritePattern seq = new WritePattern(BenchProfile.SEQ_1M, 4 << 20, 1);
        long[] offsets = new long[6];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = seq.offset(seq.length());
        }
        assertThat(offsets).containsExactly(0, 1 << 20, 2 << 20, 3 << 20, 0, 1 << 20);
        WritePattern rand = new WritePattern(BenchProfile.RAND_64K, DISK, 1);
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            seen.add(rand.offset(rand.length()));
        }
        assertThat(seen.size()).isGreaterThan(550); // 1000 draws over 1024 slots: about 640 distinct
        assertThatThrownBy(() -> new WritePattern(BenchProfile.SEQ_1M, 4096, 1))
                .hasMessageContaining("needs at least");
    }

    @Test
    void compressibilityIsWhatLz4Sees() {
        var lz4 = LZ4Factory.fastestInstance().fastCompressor();
        for (double c : new double[] {0, 0.5, 0.9}) {
            PayloadPool pool = new PayloadPool(1 << 20, 65536, c, 3);
            byte[] out = new byte[lz4.maxCompressedLength(1 << 20)];
            int n = lz4.compress(pool.array(), 0, 1 << 20, out, 0, out.length);
            double ratio = n / (double) (1 << 20);
            assertThat(ratio).as("compressibility " + c).isBetween(1 - c - 0.02, 1 - c + 0.02);
        }
    }
}
