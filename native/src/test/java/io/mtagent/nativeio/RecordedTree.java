package io.mtagent.nativeio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The sysfs/mountinfo/by-id tree of a VMware master-target VM recorded under {@code src/test/resources/recorded-vm}
 * (test resources cannot hold symbolic links reliably, so {@code by-id.links} lists them and this class makes
 * them): sda = system disk (/, /boot via LVM), sdb = the mounted retention volume, sdc = a 4Kn replica target on
 * the paravirtual controller (vmw_pvscsi), sdd = a replica target without a UUID; loop0 and sr0 are not disks.
 */
public final class RecordedTree {
    private RecordedTree() {
    }

    /** Copies the tree into {@code dir} and creates the by-id links; returns a discovery over it. */
    public static DiskDiscovery materialize(Path dir) {
        try {
            Path src = Path.of(RecordedTree.class.getResource("/recorded-vm").toURI());
            try (Stream<Path> files = Files.walk(src)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Path to = dir.resolve(src.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(to);
                    } else {
                        Files.copy(p, to);
                    }
                }
            }
            Path byId = Files.createDirectories(dir.resolve("dev/disk/by-id"));
            for (String line : Files.readAllLines(dir.resolve("by-id.links"))) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                Files.createSymbolicLink(byId.resolve(f[0]), Path.of(f[1]));
            }
            return new DiskDiscovery(dir.resolve("sys"), dir.resolve("proc/self/mountinfo"), byId);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
