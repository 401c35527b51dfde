package io.mtagent.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * A seeded mutation fuzzer for anything that reads the 9443 byte stream through an {@link EmbeddedChannel}: the
 * bare {@link FrameDecoder} here, the agent's whole server pipeline in the agent module.
 *
 * <p>Each case takes one of the seed streams (valid encodings of several frames), applies 0–4 mutations (bit
 * flips, truncation, inserted/deleted/overwritten bytes, length words overwritten with random, zero, boundary or
 * huge values, type bytes replaced, chunks duplicated, frames dropped or repeated), feeds the result to a fresh
 * channel from the supplier in random-sized chunks (sometimes one byte at a time) and checks:
 * <ol>
 *   <li>nothing but a {@link ProtocolException} (bare, or as the cause of a {@link DecoderException}) escapes,
 *       and by default at most one per channel: after a framing error the decoder discards input;</li>
 *   <li>every message the channel produced, inbound or outbound, is released by the fuzzer, after which every
 *       buffer allocated from the channel's allocator (a {@link RecordingAllocator}, shared across cases) has
 *       {@code refCnt() == 0}: no leaks, without the cost of the paranoid leak detector;</li>
 *   <li>for each {@link FrameDecoder} in the pipeline (found by type and given a recording cumulator): the bytes it
 *       holds over between reads stay under {@code cap + 4}, and its cumulation buffer never grows past
 *       {@link #cumulationBound}, a bound from the cap and the chunk size alone, whatever the length words say;
 *       no allocator request exceeds that bound either;</li>
 *   <li>no case takes longer than {@link #MAX_CASE_MILLIS} (an infinite loop is caught by the caller's JUnit
 *       {@code @Timeout}).</li>
 * </ol>
 * A failure is an {@link AssertionError} naming the master seed, the case index and the case seed;
 * {@link #runCase(long)} replays one case. Not thread-safe.
 *
 * <p>Public, and shipped in the protocol module's test-jar, so the agent module can fuzz its server pipeline:
 * depend on {@code mtagent-protocol} with {@code <type>test-jar</type>} in test scope, build seed streams that
 * start with a valid handshake, and pass a supplier of channels carrying the whole pipeline.
 */
public final class MutationFuzzer {
    public static final long MAX_CASE_MILLIS = 5_000;

    /** Per-run counters, for the test's log line. */
    public record Stats(long cases, long mutatedCases, long inputBytes, long framesOut, long protocolErrors,
                 int largestCumulation, int largestLeftover, Map<ErrorCode, Long> errorsByCode) {
    }

    private final List<List<byte[]>> seeds;
    private final Supplier<EmbeddedChannel> channels;
    private final RecordingAllocator alloc = new RecordingAllocator();
    private int maxChunk = 1024;
    private boolean allowRepeatedErrors;

    private long cases;
    private long mutatedCases;
    private long inputBytes;
    private long framesOut;
    private long protocolErrors;
    private int largestCumulation;
    private int largestLeftover;
    private final long[] errorsByCode = new long[64];

    /**
     * @param seeds    valid streams, each given as its frames' encodings in order (the fuzzer needs the frame
     *                 boundaries to aim mutations at length words and type bytes)
     * @param channels a fresh channel per case; the fuzzer installs its own allocator on it right away
     */
    public MutationFuzzer(List<List<byte[]>> seeds, Supplier<EmbeddedChannel> channels) {
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("no seeds");
        }
        this.seeds = seeds;
        this.channels = channels;
    }

    /** Largest chunk handed to the channel at once (default 1024). */
    public MutationFuzzer maxChunk(int maxChunk) {
        this.maxChunk = maxChunk;
        return this;
    }

    /** Allow more than one ProtocolException per channel (a pipeline that reports per frame and stays open). */
    public MutationFuzzer allowRepeatedErrors(boolean allow) {
        this.allowRepeatedErrors = allow;
        return this;
    }

    /** Runs {@code n} cases derived from {@code seed}. */
    public Stats run(long seed, int n) {
        SplittableRandom master = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            long caseSeed = master.nextLong();
            try {
                runCase(caseSeed);
            } catch (Throwable t) {
                throw new AssertionError("fuzz case failed: master seed " + seed + ", case " + i + ", case seed "
                        + caseSeed + " (replay with runCase(" + caseSeed + "L)): " + t, t);
            }
        }
        return stats();
    }

    public Stats stats() {
        Map<ErrorCode, Long> byCode = new java.util.EnumMap<>(ErrorCode.class);
        for (ErrorCode c : ErrorCode.values()) {
            if (errorsByCode[c.code()] > 0) {
                byCode.put(c, errorsByCode[c.code()]);
            }
        }
        return new Stats(cases, mutatedCases, inputBytes, framesOut, protocolErrors, largestCumulation,
                largestLeftover, byCode);
    }

    /** Largest cumulation capacity allowed for a decoder with this cap fed chunks of at most {@code maxChunk}. */
    public static int cumulationBound(int cap, int maxChunk) {
        // Held-over bytes (< cap + 4) plus one chunk, rounded up to a power of two by Netty's growth policy, and
        // at most doubled once more for read bytes not yet discarded (discardSomeReadBytes keeps up to half).
        long need = (long) cap + Protocol.LENGTH_FIELD_LENGTH + maxChunk;
        long pow2 = Long.highestOneBit(Math.max(64, need - 1)) << 1;
        return (int) Math.min(Integer.MAX_VALUE, 2 * pow2);
    }

    /** Replays one case. */
    public void runCase(long caseSeed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(caseSeed);
        List<byte[]> frames = seeds.get(rnd.nextInt(seeds.size()));
        StringBuilder how = new StringBuilder();
        byte[] input = mutate(rnd, frames, how);
        cases++;
        inputBytes += input.length;
        alloc.reset();

        EmbeddedChannel ch = channels.get();
        ch.config().setAllocator(alloc);
        List<Tracker> trackers = new ArrayList<>();
        ch.pipeline().forEach(e -> {
            if (e.getValue() instanceof FrameDecoder d) {
                Tracker t = new Tracker(d);
                d.setCumulator(t);
                trackers.add(t);
            }
        });

        long start = System.nanoTime();
        int errors = 0;
        int chunkMode = rnd.nextInt(100);
        int pos = 0;
        try {
            while (pos < input.length && ch.isOpen()) {
                int n;
                if (chunkMode < 3) {
                    n = 1;
                } else if (chunkMode < 40) {
                    n = 1 + rnd.nextInt(Math.min(16, maxChunk));
                } else if (chunkMode < 90) {
                    n = 1 + rnd.nextInt(maxChunk);
                } else {
                    n = maxChunk;
                }
                n = Math.min(n, input.length - pos);
                ByteBuf chunk = alloc.buffer(n).writeBytes(input, pos, n);
                pos += n;
                errors += feed(ch, chunk);
                drain(ch);
                if (errors > 1 && !allowRepeatedErrors) {
                    throw new AssertionError("a second error after the decoder went BAD");
                }
            }
            try {
                ch.finishAndReleaseAll();
            } catch (Throwable t) {
                errors += classify(t);
            }
            if (errors > 1 && !allowRepeatedErrors) {
                throw new AssertionError("a second error after the decoder went BAD");
            }
            ByteBuf leak = alloc.firstUnreleased();
            if (leak != null) {
                throw new AssertionError("buffer not released: " + leak);
            }
            for (Tracker t : trackers) {
                t.check();
            }
            if (alloc.largestRequest() > boundFor(trackers)) {
                throw new AssertionError("allocation of " + alloc.largestRequest() + " bytes; bound "
                        + boundFor(trackers));
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (ms > MAX_CASE_MILLIS) {
                throw new AssertionError("case took " + ms + " ms");
            }
        } catch (Throwable t) {
            ch.finishAndReleaseAll();
            throw new AssertionError("mutations [" + how + "], " + input.length + " bytes: "
                    + ByteBufUtil.hexDump(input, 0, Math.min(input.length, 256))
                    + (input.length > 256 ? "..." : ""), t);
        }
    }

    private int boundFor(List<Tracker> trackers) {
        int cap = Protocol.HANDSHAKE_MAX_FRAME_LENGTH;
        for (Tracker t : trackers) {
            cap = Math.max(cap, t.maxCap);
        }
        return cumulationBound(cap, maxChunk);
    }

    /** Writes one chunk; returns the number of protocol errors it raised (0 or 1). */
    private int feed(EmbeddedChannel ch, ByteBuf chunk) {
        try {
            ch.writeInbound(chunk);
            ch.checkException();
            return 0;
        } catch (Throwable t) {
            return classify(t);
        }
    }

    /** 1 for an expected ProtocolException; anything else is rethrown as a failure. */
    private int classify(Throwable t) {
        Throwable c = t instanceof DecoderException && t.getCause() != null ? t.getCause() : t;
        if (c instanceof ProtocolException pe) {
            protocolErrors++;
            errorsByCode[pe.code().code()]++;
            return 1;
        }
        throw new AssertionError("unexpected exception escaped the pipeline", t);
    }

    private void drain(EmbeddedChannel ch) {
        for (Object o; (o = ch.readInbound()) != null; ) {
            framesOut++;
            ReferenceCountUtil.release(o);
        }
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ReferenceCountUtil.release(o);
        }
    }

    // ---- mutations ----

    private byte[] mutate(SplittableRandom rnd, List<byte[]> frames, StringBuilder how) {
        List<byte[]> fs = new ArrayList<>(frames);
        // Frame-level mutations first (they need the boundaries), then byte-level ones on the concatenation.
        int r = rnd.nextInt(10);
        if (r == 0 && fs.size() > 1) {
            int i = rnd.nextInt(fs.size());
            fs.remove(i);
            how.append("drop frame ").append(i).append("; ");
        } else if (r == 1) {
            int i = rnd.nextInt(fs.size());
            fs.add(rnd.nextInt(fs.size() + 1), fs.get(i));
            how.append("repeat frame ").append(i).append("; ");
        }
        int[] starts = new int[fs.size()];
        int total = 0;
        for (int i = 0; i < fs.size(); i++) {
            starts[i] = total;
            total += fs.get(i).length;
        }
        byte[] b = new byte[total];
        for (int i = 0; i < fs.size(); i++) {
            System.arraycopy(fs.get(i), 0, b, starts[i], fs.get(i).length);
        }
        int count = rnd.nextInt(8) == 0 ? 0 : 1 + rnd.nextInt(4);
        if (count > 0 || fs.size() != frames.size()) {
            mutatedCases++;
        }
        for (int m = 0; m < count && b.length > 0; m++) {
            int p = rnd.nextInt(b.length);
            int start = starts[rnd.nextInt(starts.length)];
            switch (rnd.nextInt(9)) {
                case 0 -> { // flip 1..8 bits
                    int bits = 1 + rnd.nextInt(8);
                    for (int i = 0; i < bits; i++) {
                        b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                    }
                    how.append("flip ").append(bits).append(" bits; ");
                }
                case 1 -> { // truncate
                    b = Arrays.copyOf(b, p);
                    how.append("truncate at ").append(p).append("; ");
                }
                case 2 -> { // insert random bytes
                    byte[] ins = new byte[1 + rnd.nextInt(16)];
                    rnd.nextBytes(ins);
                    b = splice(b, p, 0, ins);
                    how.append("insert ").append(ins.length).append(" at ").append(p).append("; ");
                }
                case 3 -> { // delete a range
                    int len = Math.min(b.length - p, 1 + rnd.nextInt(16));
                    b = splice(b, p, len, new byte[0]);
                    how.append("delete ").append(len).append(" at ").append(p).append("; ");
                }
                case 4 -> { // overwrite a frame's length word
                    if (start + 4 <= b.length) {
                        int v = lengthValue(rnd, b, start);
                        b[start] = (byte) (v >>> 24);
                        b[start + 1] = (byte) (v >>> 16);
                        b[start + 2] = (byte) (v >>> 8);
                        b[start + 3] = (byte) v;
                        how.append("length@").append(start).append("=").append(Integer.toUnsignedString(v)).append("; ");
                    }
                }
                case 5 -> { // replace a frame's type byte
                    if (start + 4 < b.length) {
                        b[start + 4] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256)
                                : FrameType.values()[rnd.nextInt(FrameType.values().length)].code());
                        how.append("type@").append(start + 4).append("; ");
                    }
                }
                case 6 -> { // duplicate a chunk somewhere else
                    int len = Math.min(b.length - p, 1 + rnd.nextInt(64));
                    byte[] dup = Arrays.copyOfRange(b, p, p + len);
                    int at = rnd.nextInt(b.length + 1);
                    b = splice(b, at, 0, dup);
                    how.append("duplicate ").append(len).append(" from ").append(p).append(" to ").append(at).append("; ");
                }
                case 7 -> { // overwrite bytes with random or extreme values
                    int len = Math.min(b.length - p, 1 + rnd.nextInt(8));
                    int kind = rnd.nextInt(3);
                    for (int i = 0; i < len; i++) {
                        b[p + i] = kind == 0 ? (byte) rnd.nextInt(256) : kind == 1 ? (byte) 0xFF : 0;
                    }
                    how.append("overwrite ").append(len).append(" at ").append(p).append("; ");
                }
                default -> { // overwrite a random u16 (a string length, most likely somewhere) with a boundary value
                    if (p + 2 <= b.length) {
                        int[] vals = {0, 1, 0x7F, 0x80, 0x100, 0x101, 0x400, 0x401, 0xFFFF};
                        int v = vals[rnd.nextInt(vals.length)];
                        b[p] = (byte) (v >>> 8);
                        b[p + 1] = (byte) v;
                        how.append("u16@").append(p).append("=").append(v).append("; ");
                    }
                }
            }
        }
        return b;
    }

    private static int lengthValue(SplittableRandom rnd, byte[] b, int start) {
        int real = ((b[start] & 0xff) << 24) | ((b[start + 1] & 0xff) << 16) | ((b[start + 2] & 0xff) << 8)
                | (b[start + 3] & 0xff);
        return switch (rnd.nextInt(8)) {
            case 0 -> 0;
            case 1 -> 0xFFFFFFFF;
            case 2 -> 0x80000000;
            case 3 -> rnd.nextInt();
            case 4 -> Protocol.HANDSHAKE_MAX_FRAME_LENGTH + rnd.nextInt(-1, 2);
            case 5 -> Protocol.maxFrameLengthFor(Protocol.DEFAULT_MAX_WRITE_BYTES) + rnd.nextInt(-1, 2);
            default -> real + rnd.nextInt(-8, 9);
        };
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    /** Wraps the default cumulator of one FrameDecoder and records what it holds and how large it grows. */
    private final class Tracker implements ByteToMessageDecoder.Cumulator {
        private final FrameDecoder decoder;
        private int maxCap;
        private int maxLeftover;
        private int maxCapacity;

        Tracker(FrameDecoder decoder) {
            this.decoder = decoder;
            this.maxCap = decoder.maxFrameLength();
        }

        @Override
        public ByteBuf cumulate(ByteBufAllocator a, ByteBuf cumulation, ByteBuf in) {
            maxCap = Math.max(maxCap, decoder.maxFrameLength());
            maxLeftover = Math.max(maxLeftover, cumulation.readableBytes());
            ByteBuf out = ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(a, cumulation, in);
            maxCapacity = Math.max(maxCapacity, out.capacity());
            return out;
        }

        /** Folds this decoder's records into the run's stats and checks them against the bounds. */
        void check() {
            largestCumulation = Math.max(largestCumulation, maxCapacity);
            largestLeftover = Math.max(largestLeftover, maxLeftover);
            if (maxLeftover >= maxCap + Protocol.LENGTH_FIELD_LENGTH) {
                throw new AssertionError("decoder held " + maxLeftover + " bytes between reads; cap " + maxCap);
            }
            int bound = cumulationBound(maxCap, maxChunk);
            if (maxCapacity > bound) {
                throw new AssertionError("cumulation grew to " + maxCapacity + " bytes; bound " + bound
                        + " (cap " + maxCap + ", chunks <= " + maxChunk + ")");
            }
        }
    }
}
