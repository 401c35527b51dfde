package io.mtagent.nativeio;

import java.io.IOException;

/**
 * A target could not be opened exclusively ({@link BlockDeviceOptions#exclusive()}): another process holds its
 * lock (a second agent pointed at the same target), or the block device is mounted or in use by the kernel.
 * {@link #holder()} says who, as far as {@link TargetHolders} could find out.
 */
public final class TargetLockedException extends IOException {
    private final String path;
    private final String holder;

    public TargetLockedException(String path, String holder, String why) {
        super(path + " " + why + (holder.isEmpty() ? "" : "; held by " + holder));
        this.path = path;
        this.holder = holder;
    }

    public String path() {
        return path;
    }

    /** E.g. {@code pid 1234 (java ... mtagent run --config /etc/x)}, or "" when unknown. */
    public String holder() {
        return holder;
    }
}
