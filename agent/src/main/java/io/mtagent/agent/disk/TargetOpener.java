package io.mtagent.agent.disk;

import io.mtagent.agent.config.DiskConfig;
import io.mtagent.nativeio.BlockDevice;
import io.mtagent.nativeio.BlockDeviceOptions;
import io.mtagent.nativeio.BlockDevices;
import io.mtagent.nativeio.VmdkTarget;
import java.io.IOException;

/**
 * Opens the target device of a configured disk. The default follows a flat-disk VMDK descriptor to its extent
 * (sparse VMDKs are refused, {@link VmdkTarget}) and goes through {@link BlockDevices#open} (O_DIRECT where the
 * file system allows it, a clean buffered fallback where it does not); tests pass their own to inject device
 * faults into a real agent.
 */
@FunctionalInterface
public interface TargetOpener {
    TargetOpener NATIVE = d -> BlockDevices.open(VmdkTarget.resolve(d.path()),
            BlockDeviceOptions.defaults().withCreateSize(d.sizeBytes()).withSectorSize(d.sectorSize()));

    BlockDevice open(DiskConfig disk) throws IOException;
}
