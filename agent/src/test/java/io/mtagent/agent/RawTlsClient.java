package io.mtagent.agent;

import io.mtagent.protocol.Frame;
import io.mtagent.protocol.FrameDecoder;
import io.mtagent.protocol.FrameEncoder;
import io.mtagent.protocol.Frames;
import io.mtagent.protocol.HandshakeCrypto;
import io.mtagent.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A deliberately dumb blocking client for bad-input tests: JDK TLS socket, hand-made frames, raw bytes.
 * Lets a test send exactly what a broken or hostile process server would.
 */
final class RawTlsClient implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawTlsClient(int port, boolean tls) throws Exception {
        if (tls) {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                public void checkClientTrusted(X509Certificate[] c, String a) { }
                public void checkServerTrusted(X509Certificate[] c, String a) { }
                public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
            }}, null);
            SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
            s.startHandshake();
            socket = s;
        } else {
            socket = new Socket("127.0.0.1", port);
        }
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    byte[] peerFingerprint() throws Exception {
        return HandshakeCrypto.fingerprint(((SSLSocket) socket).getSession().getPeerCertificates()[0].getEncoded());
    }

    /** Runs the handshake with {@code passphrase}; returns the agent's answer to the proof. */
    Frame authenticate(String passphrase) throws Exception {
        byte[] cn = new byte[32];
        new SecureRandom().nextBytes(cn);
        send(new Frames.Hello(Protocol.MAGIC, 1, 1, cn, System.currentTimeMillis() * 1000, "raw"));
        Frame f = read();
        if (!(f instanceof Frames.Challenge ch)) {
            return f;
        }
        byte[] key = HandshakeCrypto.deriveKey(passphrase.toCharArray(), ch.salt(), ch.iterations());
        send(new Frames.AuthProof(HandshakeCrypto.clientProof(key, cn, ch.serverNonce(), peerFingerprint())));
        return read();
    }

    void send(Frame f) throws IOException {
        ByteBuf b = FrameEncoder.encode(Unpooled.buffer(), f);
        try {
            sendRaw(io.netty.buffer.ByteBufUtil.getBytes(b));
        } finally {
            b.release();
            ReferenceCountUtil.release(f);
        }
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Reads one frame; throws EOFException when the agent closed the connection. */
    Frame read() throws Exception {
        int len = in.readInt();
        byte[] body = new byte[len];
        in.readFully(body);
        return FrameDecoder.parse(Unpooled.wrappedBuffer(body));
    }

    /** Reads until a frame of the given class arrives (skipping ACK/CREDIT), or fails on EOF. */
    <T extends Frame> T readUntil(Class<T> type) throws Exception {
        while (true) {
            Frame f = read();
            if (type.isInstance(f)) {
                return type.cast(f);
            }
            ReferenceCountUtil.release(f);
        }
    }

    boolean closedByPeer() {
        try {
            while (true) {
                ReferenceCountUtil.release(read());
            }
        } catch (java.io.EOFException | java.net.SocketException e) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
