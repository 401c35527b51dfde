package io.mtagent.agent;

import io.mtagent.protocol.ErrorCode;
import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A passphrase-guessing flood against a data port, as the issue-21 probe ran it: {@code connections} threads,
 * each connecting over TLS from one of {@code sources} loopback addresses (127.0.0.x), sending HELLO and a random
 * AUTH_PROOF, over and over until the deadline. Counts, from the client side, what the agent did with each proof:
 * checked (AUTH_FAILED), refused unchecked (AUTH_RATE_LIMITED) or cut off (connection closed before an answer).
 * The client side is what an attacker sees, so the same tool measures an agent of any revision ({@code magic}).
 *
 * <p>Run against any agent: {@code java ... io.mtagent.agent.HandshakeFlood PORT CONNECTIONS SOURCES SECONDS
 * [MAGIC_HEX]}.
 */
final class HandshakeFlood {
    final LongAdder checked = new LongAdder();
    final LongAdder rateLimited = new LongAdder();
    final LongAdder cutOff = new LongAdder();
    final LongAdder attempts = new LongAdder();
    private final SSLContext tls;

    HandshakeFlood() throws Exception {
        tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) { }
            public void checkServerTrusted(X509Certificate[] c, String a) { }
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }}, null);
    }

    /** Runs the flood for {@code duration}; returns when every thread has stopped. */
    void run(int port, int connections, int sources, Duration duration, int magic) throws InterruptedException {
        long deadline = System.nanoTime() + duration.toNanos();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            InetAddress source = loopback(2 + i % sources);
            Thread t = new Thread(() -> {
                while (System.nanoTime() < deadline) {
                    attempts.increment();
                    try {
                        guess(port, source, magic);
                    } catch (IOException e) {
                        cutOff.increment();
                        pause(); // refused before TLS: the attacker would retry at once; the test spares the CPU
                    }
                }
            }, "flood-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(20); // the stimulus: the flood's pace
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** 127.0.0.n: every such address reaches the loopback interface on Linux. */
    static InetAddress loopback(int n) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, (byte) (n >> 8), (byte) n});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private void guess(int port, InetAddress source, int magic) throws IOException {
        Socket plain = new Socket();
        plain.bind(new InetSocketAddress(source, 0));
        plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        plain.setSoTimeout(15_000);
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(plain, "127.0.0.1", port, true)) {
            s.startHandshake();
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            byte[] nonce = new byte[32];
            new SecureRandom().nextBytes(nonce);
            send(out, new Frames.Hello(magic, 1, 2, nonce, System.currentTimeMillis() * 1000, "flood"));
            Frame answer = read(in);
            if (answer instanceof Frames.Challenge) {
                byte[] proof = new byte[32];
                new SecureRandom().nextBytes(proof);
                send(out, new Frames.AuthProof(proof));
                answer = read(in);
            }
            if (answer instanceof Frames.Error e && e.errorCode() == ErrorCode.AUTH_FAILED) {
                checked.increment();
            } else if (answer instanceof Frames.Error e && e.errorCode() == ErrorCode.AUTH_RATE_LIMITED) {
                rateLimited.increment();
            } else {
                cutOff.increment();
            }
            ReferenceCountUtil.release(answer);
        }
    }

    private static void send(OutputStream out, Frame f) throws IOException {
        ByteBuf b = FrameEncoder.encode(Unpooled.buffer(), f);
        try {
            out.write(ByteBufUtil.getBytes(b));
            out.flush();
        } finally {
            b.release();
        }
    }

    private static Frame read(DataInputStream in) throws IOException {
        int len = in.readInt();
        if (len <= 0 || len > Protocol.HANDSHAKE_MAX_FRAME_LENGTH) {
            throw new IOException("bad frame length " + len);
        }
        byte[] body = new byte[len];
        in.readFully(body);
        try {
            return FrameDecoder.parse(Unpooled.wrappedBuffer(body));
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    @Override
    public String toString() {
        return "attempts=" + attempts + " checked=" + checked + " rateLimited=" + rateLimited + " cutOff=" + cutOff;
    }

    public static void main(String[] args) throws Exception {
        int magic = args.length > 4 ? Integer.parseUnsignedInt(args[4], 16) : Protocol.MAGIC;
        HandshakeFlood f = new HandshakeFlood();
        long seconds = Long.parseLong(args[3]);
        f.run(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                Duration.ofSeconds(seconds), magic);
        System.out.printf("%s; proofs checked per second: %.1f%n", f, f.checked.doubleValue() / seconds);
    }
}
