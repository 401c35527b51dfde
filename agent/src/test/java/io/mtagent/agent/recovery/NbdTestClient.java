package io.mtagent.agent.recovery;

import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/** A tiny hand-written NBD client for tests: speaks the wire format byte by byte, no protocol logic of its own. */
final class NbdTestClient implements Closeable {
    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    record SimpleReply(int error, long handle, byte[] data) {
    }

    private Socket socket;
    private SocketChannel unix;
    private Thread unixWatchdog;
    private final AtomicBoolean watchdogFired = new AtomicBoolean();
    private DataInputStream in;
    private DataOutputStream out;
    final int handshakeFlags;

    NbdTestClient(InetSocketAddress address) throws IOException {
        socket = new Socket(address.getAddress(), address.getPort());
        socket.setSoTimeout(10_000);
        streams();
        handshakeFlags = greeting();
    }

    /**
     * Over a Unix socket. A blocking channel has no read time-out, so a watchdog closes it after {@code
     * timeoutMillis}: a test that waits for the server to act never hangs.
     */
    NbdTestClient(Path socketPath, long timeoutMillis) throws IOException {
        unix = SocketChannel.open(StandardProtocolFamily.UNIX);
        unix.connect(UnixDomainSocketAddress.of(socketPath));
        SocketChannel channel = unix;
        unixWatchdog = new Thread(() -> {
            try {
                Thread.sleep(timeoutMillis); // a watchdog, not a wait: it ends a test that would hang
                watchdogFired.set(true);
                channel.close();
            } catch (InterruptedException | IOException e) {
                // closed by the test
            }
        }, "nbd-test-watchdog");
        unixWatchdog.setDaemon(true);
        unixWatchdog.start();
        in = new DataInputStream(Channels.newInputStream(unix));
        out = new DataOutputStream(Channels.newOutputStream(unix));
        handshakeFlags = greeting();
    }

    private int greeting() throws IOException {
        long magic = in.readLong();
        long opt = in.readLong();
        if (magic != Nbd.INIT_MAGIC || opt != Nbd.OPTION_MAGIC) {
            throw new IOException("bad greeting");
        }
        return in.readUnsignedShort();
    }

    private void streams() throws IOException {
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
    }

    void clientFlags(int flags) throws IOException {
        out.writeInt(flags);
        out.flush();
    }

    void rawOption(long magic, int option, byte[] data) throws IOException {
        out.writeLong(magic);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    void option(int option, byte[] data) throws IOException {
        rawOption(Nbd.OPTION_MAGIC, option, data);
    }

    OptionReply optionReply() throws IOException {
        long magic = in.readLong();
        if (magic != Nbd.OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic " + Long.toHexString(magic));
        }
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    static byte[] goData(String name, int... infoRequests) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infoRequests.length);
        b.putInt(n.length).put(n).putShort((short) infoRequests.length);
        for (int r : infoRequests) {
            b.putShort((short) r);
        }
        return b.array();
    }

    /** NBD_OPT_GO; returns {size, transmission flags} from NBD_INFO_EXPORT, or throws on an error reply. */
    long[] go(String name) throws IOException {
        option(Nbd.OPT_GO, goData(name));
        long[] export = null;
        while (true) {
            OptionReply r = optionReply();
            if (r.type() == Nbd.REP_ACK) {
                return export;
            }
            if (r.type() < 0) {
                throw new IOException("GO refused: type 0x" + Integer.toHexString(r.type()) + ": " + r.text());
            }
            ByteBuffer b = ByteBuffer.wrap(r.data());
            if (b.getShort() == Nbd.INFO_EXPORT) {
                export = new long[] {b.getLong(), b.getShort() & 0xffff};
            }
        }
    }

    void request(int flags, int type, long handle, long offset, long length) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt((int) length);
        out.flush();
    }

    void write(byte[] payload) throws IOException {
        out.write(payload);
        out.flush();
    }

    /** Reads a simple reply; {@code dataLength} bytes of data follow only on success (the client knows them). */
    SimpleReply reply(int dataLength) throws IOException {
        int magic = in.readInt();
        if (magic != Nbd.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic " + Integer.toHexString(magic));
        }
        int error = in.readInt();
        long handle = in.readLong();
        byte[] data = new byte[error == 0 ? dataLength : 0];
        in.readFully(data);
        return new SimpleReply(error, handle, data);
    }

    byte[] readRaw(int n) throws IOException {
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    byte[] read(long offset, int length) throws IOException {
        request(0, Nbd.CMD_READ, 77, offset, length);
        SimpleReply r = reply(length);
        if (r.error() != 0 || r.handle() != 77) {
            throw new IOException("read failed: error " + r.error());
        }
        return r.data();
    }

    /** True when the server closed the connection (EOF within the socket timeout). */
    boolean closedByServer() throws IOException {
        try {
            return in.read() == -1;
        } catch (AsynchronousCloseException e) {
            return !watchdogFired.get(); // closed by our own watchdog: the server did not close it in time
        } catch (EOFException | SocketException e) {
            return true;
        }
    }

    /** Upgrades the socket to TLS after an NBD_REP_ACK to NBD_OPT_STARTTLS (trusting any certificate: tests). */
    void upgradeToTls(SSLSocketFactory factory) throws IOException {
        SSLSocket tls = (SSLSocket) factory.createSocket(socket, socket.getInetAddress().getHostAddress(),
                socket.getPort(), true);
        tls.setUseClientMode(true);
        tls.startHandshake();
        socket = tls;
        streams();
    }

    @Override
    public void close() throws IOException {
        if (unix != null) {
            unixWatchdog.interrupt();
            unix.close();
        } else {
            socket.close();
        }
    }
}
