package io.mtagent.agent.disk;

import io.mtagent.agent.config.DiskConfig;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.BlockDeviceOptions;
import io.mtagent.nativeio.BlockDevices;
import io.mtagent.nativeio.TargetLockedException;
import io.mtagent.nativeio.VmdkTarget;
import java.io.IOException;

/**
 * Opens the target device of a configured disk. The default follows a flat-disk VMDK descriptor to its extent
 * (sparse VMDKs are refused, {@link VmdkTarget}) and goes through {@link BlockDevices#open} (O_DIRECT where the
 * file system allows it, a clean buffered fallback where it does not), exclusively: a file target is locked and a
 * device opened O_EXCL, so a second agent pointed at the same target refuses it, naming the holder. Tests pass
 * their own opener to inject device faults into a real agent.
 */
@FunctionalInterface
public interface TargetOpener {
    TargetOpener NATIVE = TargetOpener::openExclusively;

    BlockDevice open(DiskConfig disk) throws IOException;

    /** {@link #NATIVE}: the target locked for this agent; a conflict names the disk, its setting and the holder. */
    static BlockDevice openExclusively(DiskConfig d) throws IOException {
        try {
            return BlockDevices.open(VmdkTarget.resolve(d.path()), BlockDeviceOptions.defaults()
                    .withCreateSize(d.sizeBytes()).withSectorSize(d.sectorSize()).withExclusive(true));
        } catch (TargetLockedException e) {
            throw new IOException("disk " + d.id() + ": its target (disk." + d.name() + ".path) " + e.getMessage()
                    + ". A target belongs to one agent: stop the other one, or point disk." + d.name()
                    + ".path at another target", e);
        }
    }
}
