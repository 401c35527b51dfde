package io.mtagent.nativeio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** What WindowsBlockDevice passes to kernel32 and how it reads the answers, checked where kernel32 cannot run. */
class WindowsIOTest {
    @Test
    void devicePathsAreNormalised() {
        assertThat(WindowsIO.devicePath("PhysicalDrive3")).isEqualTo("\\\\.\\PhysicalDrive3");
        assertThat(WindowsIO.devicePath("\\\\.\\PhysicalDrive3")).isEqualTo("\\\\.\\PhysicalDrive3");
        assertThat(WindowsIO.devicePath("//./PhysicalDrive12")).isEqualTo("\\\\.\\PhysicalDrive12");
        assertThat(WindowsIO.devicePath("D:\\targets\\disk.img")).isEqualTo("D:\\targets\\disk.img");
        assertThat(WindowsIO.isDevicePath("physicaldrive0")).isTrue();
        assertThat(WindowsIO.isDevicePath("D:\\targets\\disk.img")).isFalse();
    }

    @Test
    void createFileFlagsAndAccess() {
        assertThat(WindowsIO.createFlags(true, true)).isEqualTo(0x80 | 0x20000000 | 0x80000000);
        assertThat(WindowsIO.createFlags(false, false)).isEqualTo(0x80);
        assertThat(WindowsIO.desiredAccess()).isEqualTo(0xC0000000);
        assertThat(WindowsIO.shareMode()).isEqualTo(3);
    }

    @Test
    void overlappedCarriesTheOffsetInTwoHalves() {
        assertThat(WindowsIO.overlappedOffset(0)).containsExactly(0, 0);
        assertThat(WindowsIO.overlappedOffset(0x1_2345_6000L)).containsExactly(0x2345_6000, 1);
        assertThat(WindowsIO.overlappedOffset(0xFFFF_F000L)).containsExactly(0xFFFF_F000, 0);
        assertThat(WindowsIO.overlappedOffset(3L << 40)).containsExactly(0, 3 << 8);
        assertThatThrownBy(() -> WindowsIO.overlappedOffset(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void geometryAndLengthAreReadLittleEndian() {
        ByteBuffer g = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        g.putLong(0, 2610).putInt(8, 12).putInt(12, 255).putInt(16, 63).putInt(20, 4096).putLong(24, 21474836480L);
        WindowsIO.Geometry geo = WindowsIO.parseGeometryEx(g);
        assertThat(geo.bytesPerSector()).isEqualTo(4096);
        assertThat(geo.diskSize()).isEqualTo(21474836480L);
        assertThat(geo.cylinders()).isEqualTo(2610);
        assertThat(geo.mediaType()).isEqualTo(12); // FixedMedia
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 34);
        assertThat(WindowsIO.parseLengthInfo(len)).isEqualTo(1L << 34);
        assertThatThrownBy(() -> WindowsIO.parseGeometryEx(ByteBuffer.allocate(31))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void lastErrorsMapToTypedFailuresWithTheirFix() {
        assertThat(WindowsIO.failure(23)).isEqualTo(BlockDeviceException.Failure.MEDIA_ERROR); // ERROR_CRC
        assertThat(WindowsIO.failure(1117)).isEqualTo(BlockDeviceException.Failure.MEDIA_ERROR);
        assertThat(WindowsIO.failure(112)).isEqualTo(BlockDeviceException.Failure.NO_SPACE);
        assertThat(WindowsIO.failure(39)).isEqualTo(BlockDeviceException.Failure.NO_SPACE);
        assertThat(WindowsIO.failure(5)).isEqualTo(BlockDeviceException.Failure.PERMISSION);
        assertThat(WindowsIO.failure(87)).isEqualTo(BlockDeviceException.Failure.INVALID_ARGUMENT);
        assertThat(WindowsIO.failure(27)).isEqualTo(BlockDeviceException.Failure.OUT_OF_RANGE);
        assertThat(WindowsIO.failure(9999)).isEqualTo(BlockDeviceException.Failure.OTHER);
        assertThat(WindowsIO.describe(5)).contains("Administrator").contains("offline");
        assertThat(WindowsIO.describe(87)).contains("aligned");
    }

    @Test
    void linuxErrnosMapLikeWise() {
        assertThat(Errno.failure(Errno.EIO)).isEqualTo(BlockDeviceException.Failure.MEDIA_ERROR);
        assertThat(Errno.failure(Errno.ENOSPC)).isEqualTo(BlockDeviceException.Failure.NO_SPACE);
        assertThat(Errno.failure(Errno.EROFS)).isEqualTo(BlockDeviceException.Failure.PERMISSION);
        assertThat(Errno.name(Errno.ENOSPC)).startsWith("ENOSPC");
        assertThat(new BlockDeviceException("write", "/dev/x", 0, 512, Errno.ENOSPC, "full", null).failure())
                .isEqualTo(BlockDeviceException.Failure.NO_SPACE);
    }

    @Test
    void thePortableDeviceTypesTheJdksStrerrorText() {
        assertThat(FileBlockDevice.classify(new java.io.IOException("No space left on device")))
                .isEqualTo(BlockDeviceException.Failure.NO_SPACE);
        assertThat(FileBlockDevice.classify(new java.io.IOException("Input/output error")))
                .isEqualTo(BlockDeviceException.Failure.MEDIA_ERROR);
        assertThat(FileBlockDevice.classify(new java.io.IOException("Stale file handle")))
                .isEqualTo(BlockDeviceException.Failure.OTHER);
    }
}
