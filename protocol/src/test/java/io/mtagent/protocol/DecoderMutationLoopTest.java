package io.mtagent.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link MutationFuzzer} against the bare {@link FrameDecoder}: at least 100,000 mutated streams per default run,
 * half with the handshake cap (1,024) and half with a post-authentication cap. The seed is random unless
 * {@code -Dmtagent.fuzz.seed=N} pins it, and it is printed (and named in any failure); {@code
 * -Dmtagent.fuzz.cases=N} changes the number of cases per cap.
 */
class DecoderMutationLoopTest {
    private static final int CASES_PER_CAP = Integer.getInteger("mtagent.fuzz.cases", 60_000);
    private static final int POST_AUTH_CAP = 64 * 1024;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void mutatedStreamsNeverEscapeTheDecoder() {
        long seed = Long.getLong("mtagent.fuzz.seed", new SplittableRandom().nextLong());
        System.out.println("DecoderMutationLoopTest seed " + seed + " (-Dmtagent.fuzz.seed=" + seed + " to replay)");
        long t0 = System.nanoTime();

        MutationFuzzer handshake = new MutationFuzzer(seeds(seed, 512, 1024),
                () -> new EmbeddedChannel(new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_LENGTH))).maxChunk(600);
        MutationFuzzer.Stats a = handshake.run(seed, CASES_PER_CAP);

        MutationFuzzer postAuth = new MutationFuzzer(seeds(seed + 1, 8192, 16384),
                () -> new EmbeddedChannel(new FrameDecoder(POST_AUTH_CAP))).maxChunk(4096);
        MutationFuzzer.Stats b = postAuth.run(seed + 1, CASES_PER_CAP);

        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.println("handshake cap: " + a);
        System.out.println("post-auth cap: " + b);
        System.out.println((a.cases() + b.cases()) + " cases in " + ms + " ms");

        // The run really exercised both the good path and the error paths.
        for (MutationFuzzer.Stats s : List.of(a, b)) {
            assertThat(s.framesOut()).isGreaterThan(s.cases());
            assertThat(s.protocolErrors()).isGreaterThan(s.cases() / 4);
            assertThat(s.errorsByCode()).containsKeys(ErrorCode.MALFORMED_FRAME, ErrorCode.FRAME_TOO_LARGE,
                    ErrorCode.UNKNOWN_FRAME_TYPE);
        }
    }

    /** The bound the fuzzer enforces is independent of length words: a few KiB for the handshake cap. */
    @Test
    void cumulationBoundIsSmallForTheHandshakeCap() {
        assertThat(MutationFuzzer.cumulationBound(Protocol.HANDSHAKE_MAX_FRAME_LENGTH, 600)).isEqualTo(4096);
    }

    /**
     * Seed streams: one with every frame type in order, then random mixes of 2–8 frames including raw and LZ4
     * WRITEs of up to {@code maxRaw} / {@code maxCompressed} bytes (both within the cap in force).
     */
    static List<List<byte[]>> seeds(long seed, int maxRaw, int maxCompressed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<List<byte[]>> seeds = new ArrayList<>();
        List<byte[]> all = new ArrayList<>();
        for (Frame f : SampleFrames.nonWriteFrames()) {
            all.add(SampleFrames.encode(f));
        }
        all.add(SampleFrames.encode(SampleFrames.rawWrite(rnd, 1, 1, 512)));
        all.add(SampleFrames.encode(SampleFrames.compressedWrite(1, 2, 1024)));
        seeds.add(all);
        for (int s = 0; s < 40; s++) {
            List<byte[]> stream = new ArrayList<>();
            int n = 2 + rnd.nextInt(7);
            for (int i = 0; i < n; i++) {
                int k = rnd.nextInt(all.size() + 2);
                if (k < all.size()) {
                    stream.add(all.get(k));
                } else if (k == all.size()) {
                    int len = 512 * (1 + rnd.nextInt(maxRaw / 512));
                    stream.add(SampleFrames.encode(SampleFrames.rawWrite(rnd, rnd.nextInt(4), 1 + i, len)));
                } else {
                    int len = 1024 * (1 + rnd.nextInt(maxCompressed / 1024));
                    stream.add(SampleFrames.encode(SampleFrames.compressedWrite(rnd.nextInt(4), 1 + i, len)));
                }
            }
            seeds.add(stream);
        }
        return seeds;
    }
}
