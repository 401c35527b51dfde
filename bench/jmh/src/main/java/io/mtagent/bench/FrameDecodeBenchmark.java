package io.mtagent.bench;

import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the data server and applier do per MiB received: split the byte stream into frames, parse each WRITE,
 * LZ4-decompress it (when compressed) and check its CRC-32C. One operation is one MiB of uncompressed data, so
 * ops/s reads as MiB/s of one core.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FrameDecodeBenchmark {
    /** Write size in bytes. */
    @Param({"4096", "65536", "1048576"})
    int writeBytes;

    /** Share of each 4 KiB block that is zeros (0: incompressible, sent raw; 0.5: LZ4 halves it). */
    @Param({"0", "0.5"})
    double compressibility;

    private ByteBuf wire;
    private ByteBuffer dst;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        byte[] data = new byte[1 << 20];
        int zeros = (int) (4096 * compressibility);
        for (int off = 0; off < data.length; off += 4096) {
            for (int i = off + zeros; i < off + 4096; i++) {
                data[i] = (byte) r.nextInt();
            }
        }
        wire = Unpooled.directBuffer(2 << 20);
        for (int off = 0, seq = 1; off < data.length; off += writeBytes, seq++) {
            WriteFrame f = WritePayloads.encode(ByteBufAllocator.DEFAULT, 1, seq, 0, off,
                    Unpooled.wrappedBuffer(data, off, writeBytes), true);
            FrameEncoder.encode(wire, f);
            f.release();
        }
        dst = ByteBuffer.allocateDirect(writeBytes);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        wire.release();
    }

    @Benchmark
    public int decodeOneMiB() throws Exception {
        ByteBuf in = wire.duplicate();
        int frames = 0;
        while (in.isReadable()) {
            int len = in.readInt();
            ByteBuf frame = in.slice(in.readerIndex(), len);
            in.skipBytes(len);
            WriteFrame w = (WriteFrame) FrameDecoder.parse(frame);
            try {
                dst.clear();
                WritePayloads.decodeInto(w, dst);
            } finally {
                w.release();
            }
            frames++;
        }
        return frames;
    }
}
