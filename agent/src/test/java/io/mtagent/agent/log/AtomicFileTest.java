package io.mtagent.agent.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {
    @TempDir
    Path tmp;

    @Test
    void writesAndReplacesWithoutLeavingTheTempFile() throws Exception {
        Path f = tmp.resolve("applied");
        AtomicFile.write(f, new byte[] {1, 2, 3});
        assertThat(Files.readAllBytes(f)).containsExactly(1, 2, 3);
        AtomicFile.write(f, new byte[] {9});
        assertThat(Files.readAllBytes(f)).containsExactly(9);
        AtomicFile.write(f, new byte[0]);
        assertThat(Files.readAllBytes(f)).isEmpty();
        assertThat(tmp.resolve("applied.tmp")).doesNotExist();
        try (var s = Files.list(tmp)) {
            assertThat(s.toList()).containsExactly(f);
        }
    }

    @Test
    void aLeftoverTempFileFromACrashIsOverwritten() throws Exception {
        Path f = tmp.resolve("checkpoint");
        Files.write(tmp.resolve("checkpoint.tmp"), new byte[100]); // a crash between write and rename
        AtomicFile.write(f, new byte[] {4, 5});
        assertThat(Files.readAllBytes(f)).containsExactly(4, 5);
        assertThat(tmp.resolve("checkpoint.tmp")).doesNotExist();
        AtomicFile.fsyncDirectory(tmp);
    }
}
