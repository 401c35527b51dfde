package io.mtagent.nativeio.systemd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The few libc calls an AF_UNIX datagram socket needs (the JDK has none: {@code DatagramChannel.open(UNIX)}
 * throws on 17 and 25). Linux only; callers check {@link #AVAILABLE} first.
 */
final class UnixDatagram {
    static final int AF_UNIX = 1;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int SOL_SOCKET = 1;
    static final int SO_PASSCRED = 16;
    static final int SO_RCVTIMEO = 20;
    static final int SCM_CREDENTIALS = 2;
    /** {@code sizeof(sun_path)} on Linux. */
    static final int SUN_PATH_MAX = 108;

    /** True on 64-bit Linux, where the struct layouts below hold. */
    static final boolean AVAILABLE = Platform.isLinux() && Platform.is64Bit();

    interface LibC extends Library {
        int socket(int domain, int type, int protocol) throws LastErrorException;

        NativeLong sendto(int fd, byte[] buf, NativeLong len, int flags, byte[] addr, int addrLen)
                throws LastErrorException;

        int bind(int fd, byte[] addr, int addrLen) throws LastErrorException;

        int setsockopt(int fd, int level, int name, byte[] value, int len) throws LastErrorException;

        NativeLong recvmsg(int fd, Pointer msghdr, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    static final LibC LIBC = AVAILABLE ? Native.load("c", LibC.class) : null;

    private UnixDatagram() {
    }

    /**
     * A {@code struct sockaddr_un} and its length for {@code address}: a leading '@' names the abstract
     * namespace (replaced by NUL, and the length then counts exactly the name's bytes, no terminator — abstract
     * names are not NUL-terminated); otherwise a file system path, NUL-terminated.
     *
     * @throws IllegalArgumentException if the name does not fit in {@code sun_path}
     */
    static Sockaddr sockaddr(String address) {
        byte[] path = address.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = path.length > 0 && path[0] == '@';
        int pathLength = abstractName ? path.length : path.length + 1;
        if (path.length == 0 || pathLength > SUN_PATH_MAX) {
            throw new IllegalArgumentException("unix socket address '" + address + "' is empty or longer than "
                    + SUN_PATH_MAX + " bytes");
        }
        byte[] sa = new byte[2 + SUN_PATH_MAX];
        // sa_family_t is a native-endian unsigned short.
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            sa[0] = AF_UNIX;
        } else {
            sa[1] = AF_UNIX;
        }
        System.arraycopy(path, 0, sa, 2, path.length);
        if (abstractName) {
            sa[2] = 0;
        }
        return new Sockaddr(sa, 2 + pathLength);
    }

    record Sockaddr(byte[] bytes, int length) {
    }
}
