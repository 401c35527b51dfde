package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.WritePayloads;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation loop through the agent's whole server pipeline (frame decoder, encoder and the real session
 * handler of a running agent with real disks), after a valid handshake: mutated OPEN/WRITE/TAG/CLOSE/PING
 * streams must only ever produce typed refusals — never an unexpected exception (counted as INTERNAL), never a
 * hang — and the agent must still replicate correctly afterwards. Complements the protocol module's
 * 120,000-case decoder loop, which also checks buffer leaks and allocation bounds.
 */
class PipelineMutationTest {
    private static final int CASES = Integer.getInteger("mtagent.pipeline.fuzz.cases", 50_000);
    private static final int DISK_BYTES = 1 << 20;

    @TempDir
    Path dir;

    @Test
    @Timeout(300)
    void mutatedStreamsOnlyEverGetTypedRefusals() throws Exception {
        long seed = Long.getLong("mtagent.fuzz.seed", System.nanoTime());
        var settings = TestAgents.settings(dir, 2, DISK_BYTES);
        // A disk whose id no mutation of "disk-0"/"disk-1" reaches, for the after-fuzz health check.
        settings.put("disk.clean.id", "untouched-by-the-fuzzer");
        settings.put("disk.clean.path", dir.resolve("targets").resolve("clean.img").toString());
        settings.put("disk.clean.size", String.valueOf(DISK_BYTES));
        try (Agent agent = TestAgents.start(settings)) {
            byte[] key = HandshakeCrypto.deriveKey(TestAgents.PASSPHRASE.toCharArray(),
                    passphraseSalt(agent), TestAgents.ITERATIONS);
            List<byte[]> seeds = seeds();
            SplittableRandom master = new SplittableRandom(seed);
            long frames = 0;
            for (int i = 0; i < CASES; i++) {
                long caseSeed = master.nextLong();
                SplittableRandom rnd = new SplittableRandom(caseSeed);
                byte[] input = mutate(rnd, seeds.get(rnd.nextInt(seeds.size())));
                EmbeddedChannel ch = authenticated(agent, key);
                try {
                    int pos = 0;
                    while (pos < input.length && ch.isOpen()) {
                        int n = Math.min(input.length - pos, 1 + rnd.nextInt(rnd.nextBoolean() ? 16 : 4096));
                        ch.writeInbound(Unpooled.wrappedBuffer(input, pos, n));
                        pos += n;
                        ch.runPendingTasks();
                        for (Object o; (o = ch.readOutbound()) != null; ) {
                            frames++;
                            ReferenceCountUtil.release(o);
                        }
                    }
                    ch.checkException();
                } catch (Throwable t) {
                    throw new AssertionError("seed " + seed + ", case " + i + " (case seed " + caseSeed + "): "
                            + ByteBufUtil.hexDump(input, 0, Math.min(256, input.length)), t);
                } finally {
                    ch.finishAndReleaseAll();
                }
                assertThat(agent.dataStats().rejectedCount(ErrorCode.INTERNAL))
                        .as("unexpected exceptions in the session (seed %d, case %d)", seed, i).isZero();
            }
            System.out.printf("pipeline mutation loop: %d cases, %d frames answered, seed %d%n", CASES, frames, seed);

            // The agent still replicates correctly after all that (on a disk the fuzzer cannot name).
            byte[] data = new byte[4096];
            new SplittableRandom(seed).nextBytes(data);
            try (ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
                DiskStream s = client.openDisk("untouched-by-the-fuzzer", 1);
                s.write(8192, data);
                s.flush(Duration.ofSeconds(10));
                assertThat(s.ackedSeq()).isEqualTo(1);
            }
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));
            byte[] target = java.nio.file.Files.readAllBytes(dir.resolve("targets").resolve("clean.img"));
            assertThat(java.util.Arrays.copyOfRange(target, 8192, 8192 + 4096)).isEqualTo(data);
        }
    }

    private static byte[] passphraseSalt(Agent agent) {
        return io.mtagent.agent.security.PassphraseStore.load(agent.stateDir()).orElseThrow().salt();
    }

    /** A fresh in-memory channel with the agent's pipeline, already through a valid handshake. */
    private static EmbeddedChannel authenticated(Agent agent, byte[] key) throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_LENGTH),
                FrameEncoder.INSTANCE, agent.dataServer().newSessionHandler());
        byte[] cn = new byte[32];
        new SplittableRandom().nextBytes(cn);
        ch.writeInbound(encode(new Frames.Hello(Protocol.MAGIC, 1, 1, cn, 0, "fuzz")));
        Frames.Challenge challenge = (Frames.Challenge) readFrame(ch);
        byte[] proof = HandshakeCrypto.clientProof(key, cn, challenge.serverNonce(), agent.identity().fingerprint());
        ch.writeInbound(encode(new Frames.AuthProof(proof)));
        Frame ok = readFrame(ch);
        if (!(ok instanceof Frames.AuthOk)) {
            throw new AssertionError("handshake failed: " + ok);
        }
        return ch;
    }

    private static Frame readFrame(EmbeddedChannel ch) throws Exception {
        ByteBuf b = ch.readOutbound();
        try {
            b.skipBytes(4);
            return FrameDecoder.parse(b);
        } finally {
            b.release();
        }
    }

    private static ByteBuf encode(Frame f) {
        return FrameEncoder.encode(Unpooled.buffer(), f);
    }

    /** Valid post-handshake streams over both disks, with writes (raw and LZ4), tags, close, ping. */
    private static List<byte[]> seeds() {
        List<byte[]> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(7);
        for (int s = 0; s < 16; s++) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            String disk = "disk-" + (s % 2);
            long epoch = 1 + s;
            append(bytes, new Frames.OpenDisk(1, epoch, 0, disk));
            for (int w = 1; w <= 4; w++) {
                byte[] data = new byte[512 * (1 + r.nextInt(16))];
                if (r.nextBoolean()) {
                    r.nextBytes(data);
                }
                append(bytes, WritePayloads.encode(ByteBufAllocator.DEFAULT, 1, w, w, 512L * r.nextInt(256),
                        Unpooled.wrappedBuffer(data), true));
            }
            append(bytes, new Frames.Tag(1, 5, 5, TagType.CRASH_CONSISTENT, "t" + s));
            append(bytes, new Frames.Ping(s));
            append(bytes, new Frames.CloseDisk(1));
            out.add(bytes.toByteArray());
        }
        return out;
    }

    private static void append(ByteArrayOutputStream out, Frame f) {
        ByteBuf b = FrameEncoder.encode(Unpooled.buffer(), f);
        out.writeBytes(ByteBufUtil.getBytes(b));
        b.release();
        ReferenceCountUtil.release(f);
    }

    private static byte[] mutate(SplittableRandom r, byte[] seed) {
        byte[] b = seed.clone();
        int mutations = r.nextInt(5);
        for (int m = 0; m < mutations && b.length > 0; m++) {
            switch (r.nextInt(6)) {
                case 0 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[r.nextInt(b.length)] = (byte) r.nextInt();
                case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                case 3 -> {
                    int at = r.nextInt(b.length);
                    byte[] junk = new byte[1 + r.nextInt(16)];
                    r.nextBytes(junk);
                    byte[] n = new byte[b.length + junk.length];
                    System.arraycopy(b, 0, n, 0, at);
                    System.arraycopy(junk, 0, n, at, junk.length);
                    System.arraycopy(b, at, n, at + junk.length, b.length - at);
                    b = n;
                }
                case 4 -> {
                    // overwrite an 8-byte field (seq, offset, epoch...) with a boundary value
                    int at = r.nextInt(Math.max(1, b.length - 8));
                    long v = switch (r.nextInt(4)) {
                        case 0 -> 0;
                        case 1 -> -1;
                        case 2 -> Long.MAX_VALUE;
                        default -> r.nextLong();
                    };
                    for (int k = 0; k < 8 && at + k < b.length; k++) {
                        b[at + k] = (byte) (v >>> (56 - 8 * k));
                    }
                }
                default -> {
                    int at = r.nextInt(b.length);
                    int len = Math.min(b.length - at, 1 + r.nextInt(64));
                    byte[] n = new byte[b.length + len];
                    System.arraycopy(b, 0, n, 0, at + len);
                    System.arraycopy(b, at, n, at + len, b.length - at);
                    b = n;
                }
            }
        }
        return b;
    }
}
