package io.mtagent.nativeio.systemd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The systemd side of sd_notify, for tests: binds an AF_UNIX datagram socket with SO_PASSCRED and receives
 * datagrams with the sender's kernel-verified PID (SCM_CREDENTIALS), which is how systemd enforces
 * {@code NotifyAccess=main}. 64-bit Linux layouts of {@code struct msghdr}/{@code cmsghdr}/{@code ucred}.
 * Shipped in the native test-jar so the distribution tests can use it too.
 */
public final class NotifySocketReceiver implements Closeable {
    private static final int BUFFER = 4096;
    private static final int EAGAIN = 11;

    /** One datagram and the PID the kernel says sent it (-1 if no credentials came with it). */
    public record Message(String text, long senderPid) {
    }

    private final int fd;
    private final String address;

    private NotifySocketReceiver(int fd, String address) {
        this.fd = fd;
        this.address = address;
    }

    /** True where this can run (64-bit Linux). */
    public static boolean supported() {
        return UnixDatagram.AVAILABLE;
    }

    /** Binds {@code address} (a path, or '@name' for the abstract namespace). */
    public static NotifySocketReceiver bind(String address) {
        int fd = UnixDatagram.LIBC.socket(UnixDatagram.AF_UNIX, UnixDatagram.SOCK_DGRAM | UnixDatagram.SOCK_CLOEXEC, 0);
        try {
            UnixDatagram.Sockaddr sa = UnixDatagram.sockaddr(address);
            UnixDatagram.LIBC.bind(fd, sa.bytes(), sa.length());
            UnixDatagram.LIBC.setsockopt(fd, UnixDatagram.SOL_SOCKET, UnixDatagram.SO_PASSCRED, intBytes(1), 4);
            ByteBuffer tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(0).putLong(200_000);
            UnixDatagram.LIBC.setsockopt(fd, UnixDatagram.SOL_SOCKET, UnixDatagram.SO_RCVTIMEO, tv.array(), 16);
        } catch (LastErrorException | IllegalArgumentException e) {
            UnixDatagram.LIBC.close(fd);
            throw e;
        }
        return new NotifySocketReceiver(fd, address);
    }

    public String address() {
        return address;
    }

    /** The next datagram, or null if none arrived within {@code timeout}. */
    public Message receive(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Memory buf = new Memory(BUFFER); Memory iov = new Memory(16); Memory control = new Memory(128);
             Memory msg = new Memory(56)) {
            while (true) {
                iov.setPointer(0, buf);
                iov.setLong(8, BUFFER);
                msg.clear();
                msg.setPointer(16, iov);
                msg.setLong(24, 1);
                msg.setPointer(32, control);
                msg.setLong(40, control.size());
                long n;
                try {
                    n = UnixDatagram.LIBC.recvmsg(fd, msg, 0).longValue();
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == EAGAIN && System.nanoTime() < deadline) {
                        continue; // SO_RCVTIMEO slice elapsed
                    }
                    if (e.getErrorCode() == EAGAIN) {
                        return null;
                    }
                    throw e;
                }
                String text = new String(buf.getByteArray(0, (int) n), StandardCharsets.UTF_8);
                return new Message(text, senderPid(control, msg.getLong(40)));
            }
        }
    }

    private static long senderPid(Memory control, long controlLength) {
        long off = 0;
        while (off + 16 <= controlLength) {
            long len = control.getLong(off);
            int level = control.getInt(off + 8);
            int type = control.getInt(off + 12);
            if (len < 16) {
                break;
            }
            if (level == UnixDatagram.SOL_SOCKET && type == UnixDatagram.SCM_CREDENTIALS && len >= 16 + 12) {
                return control.getInt(off + 16); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
            }
            off += (len + 7) & ~7L;
        }
        return -1;
    }

    private static byte[] intBytes(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
    }

    @Override
    public void close() {
        UnixDatagram.LIBC.close(fd);
        if (!address.startsWith("@")) {
            new java.io.File(address).delete();
        }
    }
}
