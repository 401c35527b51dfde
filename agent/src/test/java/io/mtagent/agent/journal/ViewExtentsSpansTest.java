package io.mtagent.agent.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The target requests a view and a rollback's capture make around the extents: gaps (what a view reads from the
 * target) and covered spans (what the capture reads for undo) are aligned outwards within the range, joined when
 * close, split at the request cap, and together with the extents leave no byte of the range unread.
 */
class ViewExtentsSpansTest {
    private static final int K = 1024;

    private static ViewExtents.Extent extent(long offset, int length) {
        return new ViewExtents.Extent(offset, length, null);
    }

    @Test
    void gapsAreAlignedOutwardsJoinedWhenCloseAndCoverEveryUncoveredByte() {
        // [0, 1 MiB): extents at 512..4608 and 100K..200K and 204K..1M-512
        ViewExtents x = ViewExtents.of(0, 1 << 20, List.of(extent(512, 4096), extent(100 * K, 100 * K),
                extent(204 * K, (1 << 20) - 512 - 204 * K)));
        List<long[]> gaps = x.gaps(4096, 0);
        assertThat(gaps).extracting(g -> List.of(g[0], g[1])).containsExactly(
                List.of(0L, 4096L), List.of(4096L, 100L * K), List.of(200L * K, 204L * K),
                List.of((1L << 20) - 4096, 1L << 20));
        List<long[]> joined = x.gaps(4096, 8 * K);
        assertThat(joined).extracting(g -> List.of(g[0], g[1])).containsExactly(
                List.of(0L, 100L * K), List.of(200L * K, 204L * K), List.of((1L << 20) - 4096, 1L << 20));
        assertThat(ViewExtents.of(0, 1 << 20, List.of()).gaps(4096, 0)).extracting(g -> List.of(g[0], g[1]))
                .containsExactly(List.of(0L, 1L << 20));
        assertThat(ViewExtents.of(4096, 8192, List.of(extent(4096, 4096))).gaps(4096, 1 << 20)).isEmpty();
    }

    @Test
    void coveredSpansAreAlignedJoinedAcrossSmallGapsAndCappedInLength() {
        ViewExtents x = ViewExtents.of(0, 16 << 20, List.of(extent(512, 1024), extent(64 * K, 64 * K),
                extent(1 << 20, 7 << 20), extent(12 << 20, 4096)));
        List<long[]> spans = x.coveredSpans(4096, 256 * K, 2 << 20);
        assertThat(spans).extracting(g -> List.of(g[0], g[1])).containsExactly(
                List.of(0L, 128L * K), List.of(1L << 20, 3L << 20), List.of(3L << 20, 5L << 20),
                List.of(5L << 20, 7L << 20), List.of(7L << 20, 8L << 20), List.of(12L << 20, (12L << 20) + 4096));
        for (ViewExtents.Extent e : x.extents()) { // every covered byte is read, once
            long read = 0;
            for (long[] span : spans) {
                read += Math.max(0, Math.min(span[1], e.offset() + e.length()) - Math.max(span[0], e.offset()));
            }
            assertThat(read).as("bytes of the extent at %d read", e.offset()).isEqualTo(e.length());
        }
        long read = spans.stream().mapToLong(sp -> sp[1] - sp[0]).sum();
        assertThat(read).as("bytes read").isEqualTo(128L * K + (7L << 20) + 4096);
    }
}
