package io.mtagent.nativeio;

import com.sun.jna.Native;
import java.nio.file.Path;

/**
 * {@code chmod(2)} with the bits Java's POSIX view cannot set: the set-group-ID bit on a directory (files and
 * directories created inside then inherit the directory's group, which is how a configured group comes to own
 * everything the agent creates).
 *
 * <p>Linux only (the libc binding); elsewhere {@link #set} does nothing and returns false. Thread-safe (one syscall).
 */
public final class FileMode {
    public static final int SET_GROUP_ID = 02000;

    private FileMode() {
    }

    /**
     * Sets {@code path}'s mode bits.
     *
     * @return false where there is no libc binding
     * @throws NativeIOException when the call fails (EPERM: not the owner)
     */
    public static boolean set(Path path, int mode) throws NativeIOException {
        if (!LibC.AVAILABLE) {
            return false;
        }
        if (LibC.chmod(path.toString(), mode) < 0) {
            throw new NativeIOException("chmod", Native.getLastError(), path.toString());
        }
        return true;
    }
}
