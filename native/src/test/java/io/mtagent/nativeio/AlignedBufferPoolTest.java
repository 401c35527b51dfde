package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class AlignedBufferPoolTest {
    @Test
    void buffersAreAlignedSizedAndReused() {
        AlignedBufferPool pool = new AlignedBufferPool(4096, 2);
        for (int size : new int[] {1, 512, 4095, 4096, 4097, 65536, 1 << 20, 1000 * 1000}) {
            ByteBuffer b = pool.acquire(size);
            assertThat(b.isDirect()).isTrue();
            assertThat(AlignedBufferPool.isAligned(b, 4096)).as("size %d", size).isTrue();
            assertThat(b.position()).isZero();
            assertThat(b.limit()).isEqualTo(size);
            assertThat(b.capacity()).isGreaterThanOrEqualTo(size).isGreaterThanOrEqualTo(4096);
            pool.release(b);
            assertThat(pool.acquire(size)).isSameAs(b);
        }
        ByteBuffer odd = AlignedBufferPool.allocate(126976, 4096);
        assertThat(odd.capacity()).isEqualTo(126976);
        assertThat(AlignedBufferPool.isAligned(odd, 4096)).isTrue();
        assertThat(AlignedBufferPool.isAligned(ByteBuffer.allocate(4096), 512)).isFalse();
    }
}
