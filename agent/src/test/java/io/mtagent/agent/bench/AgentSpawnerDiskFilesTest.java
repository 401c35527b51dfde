package io.mtagent.agent.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench's spawned agent gets disk files written end to end (unless --sparse-disks): a sparse file's holes read
 * as zeros without device I/O, which made before-image reads free and retention-on figures better than a real
 * disk's. This checks the file really is allocated, not just long.
 */
class AgentSpawnerDiskFilesTest {
    @TempDir
    Path tmp;

    @Test
    void aWrittenDiskFileIsAllocatedEndToEnd() throws Exception {
        long bytes = 12L << 20 | 4096; // not a multiple of the 8 MiB write: the last write is short
        Path file = tmp.resolve("disks").resolve("d.img");
        AgentSpawner.writeFull(file, bytes);
        assertThat(Files.size(file)).isEqualTo(bytes);
        Process stat = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        String[] blocks = new String(stat.getInputStream().readAllBytes()).trim().split(" ");
        assertThat(stat.waitFor()).isZero();
        long allocated = Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
        assertThat(allocated).as("bytes allocated on the file system (stat %%b x %%B)").isGreaterThanOrEqualTo(bytes);
        byte[] all = Files.readAllBytes(file);
        assertThat(java.util.Arrays.equals(all, new byte[all.length])).as("zeros throughout").isTrue();
    }
}
