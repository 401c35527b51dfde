package io.mtagent.agent.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.mtagent.protocol.ProtocolException;
import io.mtagent.protocol.WriteFrame;
import io.mtagent.protocol.WritePayloads;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;

/**
 * One data-server session of a real agent (real disks, ingest logs, limiter) on an in-memory channel, with the
 * agent's pipeline {@code frames → encoder → session}: frames go in as bytes, what the session writes comes out as
 * bytes and is decoded here. No sockets, no TLS.
 *
 * <p>The test thread is the session's event loop: an {@link EmbeddedChannel}'s event loop is not thread-safe, so the
 * tasks disk threads and hash workers hand to the session are queued in {@link #loop} and run by {@link #pump}.
 *
 * <p>{@link #close} asserts what every codec test here must (Netty's own codec tests check the same): no frame left unread, nothing left in the channel,
 * and every buffer fed in released.
 */
final class EmbeddedSession implements AutoCloseable {
    /** The session's hand-over executor: any thread queues, the test thread runs. */
    static final class Loop implements Executor {
        private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        int runAll() {
            int n = 0;
            for (Runnable r; (r = tasks.poll()) != null; n++) {
                r.run();
            }
            return n;
        }
    }

    final Agent agent;
    final Loop loop = new Loop();
    final EmbeddedChannel ch;
    private final List<ByteBuf> fed = new ArrayList<>();
    private final ArrayDeque<Frame> received = new ArrayDeque<>();
    private int version = Protocol.VERSION_1;
    private boolean byteAtATime;

    EmbeddedSession(Agent agent) {
        this.agent = agent;
        this.ch = new EmbeddedChannel(new FrameDecoder(Protocol.HANDSHAKE_MAX_FRAME_LENGTH), FrameEncoder.INSTANCE,
                agent.dataServer().newSessionHandler(loop));
    }

    /** From now on frames are fed one byte per read (the decoder must reassemble them). */
    EmbeddedSession byteAtATime() {
        byteAtATime = true;
        return this;
    }

    ServerSession session() {
        return (ServerSession) ch.pipeline().last();
    }

    /** Feeds one frame (encoded as a process server would send it) and runs what it caused. */
    void send(Frame f) {
        ByteBuf b = FrameEncoder.encode(Unpooled.buffer(), f);
        if (f instanceof WriteFrame w) {
            w.release();
        }
        sendRaw(b);
    }

    /** Feeds raw bytes (ownership passes to the channel). */
    void sendRaw(ByteBuf b) {
        if (byteAtATime) {
            while (b.isReadable() && ch.isOpen()) {
                ByteBuf one = b.readRetainedSlice(1);
                fed.add(one);
                ch.writeInbound(one);
                pump();
            }
            b.release();
            fed.add(b);
        } else {
            fed.add(b);
            ch.writeInbound(b);
        }
        pump();
    }

    /** Runs the tasks handed to the session and the channel's own until none is left; collects what it wrote. */
    void pump() {
        int ran;
        do {
            ran = loop.runAll();
            ch.runPendingTasks();
            for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
                received.add(decode(b));
            }
        } while (ran > 0);
    }

    private Frame decode(ByteBuf b) {
        try {
            int length = b.readInt();
            assertThat(length).as("length word").isEqualTo(b.readableBytes());
            return FrameDecoder.parse(b, version);
        } catch (ProtocolException e) {
            throw new AssertionError("the session wrote a malformed frame", e);
        } finally {
            b.release();
        }
    }

    /** The next frame the session wrote, waiting (and pumping) up to 10 s for it. */
    Frame next() {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(2)).until(() -> {
            pump();
            return !received.isEmpty();
        });
        return received.poll();
    }

    /** The next frame, which must be a {@code type}. */
    <T extends Frame> T expect(Class<T> type) {
        Frame f = next();
        assertThat(f).as("the session's next frame").isInstanceOf(type);
        return type.cast(f);
    }

    /** The next frame of type {@code type}, skipping ACK and CREDIT frames (which disk threads time). */
    <T extends Frame> T expectSkippingAcks(Class<T> type) {
        while (true) {
            Frame f = next();
            if (type.isInstance(f)) {
                return type.cast(f);
            }
            assertThat(f).as("only ACK/CREDIT may come before a %s", type.getSimpleName())
                    .isInstanceOfAny(Frames.Ack.class, Frames.Credit.class);
        }
    }

    /** The next frame must be an ERROR with {@code code}; checks its fatal flag against SPEC.md §8. */
    Frames.Error expectError(ErrorCode code) {
        Frames.Error e = expectSkippingAcks(Frames.Error.class);
        assertThat(e.errorCode()).as("%s", e.message()).isEqualTo(code);
        assertThat(e.fatal()).as("fatal flag of %s", code).isEqualTo(code.fatal());
        if (code.fatal()) {
            assertClosedAfterFatal();
        }
        return e;
    }

    /** After a fatal ERROR: nothing follows it and the connection closes (after its half-close and linger). */
    void assertClosedAfterFatal() {
        pump();
        ch.advanceTimeBy(DataServer.LINGER_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        pump();
        assertThat(received).as("frames after a fatal ERROR").isEmpty();
        assertThat(ch.isOpen()).as("closed after a fatal ERROR").isFalse();
    }

    /** Sends PING and returns what the session wrote before its PONG (so every earlier frame was handled). */
    List<Frame> untilPong() {
        long nonce = new SplittableRandom().nextLong();
        send(new Frames.Ping(nonce));
        List<Frame> before = new ArrayList<>();
        while (true) {
            Frame f = next();
            if (f instanceof Frames.Pong p && p.nonce() == nonce) {
                return before;
            }
            before.add(f);
        }
    }

    /** Errors among {@link #untilPong()}. */
    List<Frames.Error> errorsUntilPong() {
        return untilPong().stream().filter(Frames.Error.class::isInstance).map(Frames.Error.class::cast).toList();
    }

    Frames.Challenge hello(int maxVersion) {
        send(new Frames.Hello(Protocol.MAGIC, Protocol.VERSION_1, maxVersion, nonce(), System.currentTimeMillis() * 1000,
                "embedded-test"));
        Frames.Challenge c = expect(Frames.Challenge.class);
        version = c.version();
        return c;
    }

    /** The proof a process server holding {@code passphrase} sends for {@code challenge}. */
    Frames.AuthProof proof(Frames.Challenge challenge, String passphrase, byte[] clientNonce) {
        byte[] key = HandshakeCrypto.deriveKey(passphrase.toCharArray(), challenge.salt(), challenge.iterations());
        return new Frames.AuthProof(HandshakeCrypto.clientProof(key, clientNonce, challenge.serverNonce(),
                agent.identity().fingerprint()));
    }

    private byte[] lastNonce;

    private byte[] nonce() {
        lastNonce = new byte[HandshakeCrypto.NONCE_LENGTH];
        new SplittableRandom().nextBytes(lastNonce);
        return lastNonce;
    }

    byte[] lastClientNonce() {
        return lastNonce;
    }

    /** A complete handshake at {@code maxVersion} with the right passphrase. */
    Frames.AuthOk authenticate(int maxVersion) {
        Frames.Challenge c = hello(maxVersion);
        send(proof(c, TestAgents.PASSPHRASE, lastNonce));
        return expect(Frames.AuthOk.class);
    }

    Frames.DiskOpened open(int handle, String disk, long epoch) {
        send(new Frames.OpenDisk(handle, epoch, 0, disk));
        return expectSkippingAcks(Frames.DiskOpened.class);
    }

    /** A raw (uncompressed) WRITE of {@code bytes} random bytes. */
    static WriteFrame write(int handle, long seq, long offset, int bytes) {
        byte[] data = new byte[bytes];
        new SplittableRandom(seq).nextBytes(data);
        return WritePayloads.encode(ByteBufAllocator.DEFAULT, handle, seq, System.currentTimeMillis() * 1000, offset,
                Unpooled.wrappedBuffer(data), false);
    }

    /** What a WRITE or TAG costs in credit (SPEC.md §7). */
    static int cost(Frame f) {
        return f instanceof WriteFrame w ? w.wireLength() : Protocol.LENGTH_FIELD_LENGTH + 1 + f.bodyLength();
    }

    /** Frames the session wrote that the test has not read yet (pumped first). */
    List<Frame> drain() {
        pump();
        List<Frame> out = new ArrayList<>(received);
        received.clear();
        return out;
    }

    /**
     * Closes the connection as the peer would and checks the teardown: no unread frame, nothing left in the channel,
     * every buffer fed in released.
     */
    @Override
    public void close() {
        pump();
        List<Frame> unread = new ArrayList<>(received);
        ch.close();
        pump();
        boolean leftovers = ch.finish();
        assertThat(unread).as("frames the test did not read").allMatch(f -> f instanceof Frames.Ack
                || f instanceof Frames.Credit);
        assertThat(leftovers).as("messages left in the channel").isFalse();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fed)
                .as("buffers fed in are released (WRITE data once the ingest log holds it)")
                .allMatch(b -> b.refCnt() == 0));
    }
}
