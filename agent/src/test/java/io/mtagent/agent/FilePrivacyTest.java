package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.nativeio.ProcessUmask;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files the agent creates are private whatever the umask it was started under (issue 21: under umask 022 target
 * images, ingest logs, journals and exports were world-readable), and a data directory others can write is refused
 * at start with the fix.
 */
class FilePrivacyTest {
    @TempDir
    Path dir;

    @Test
    void filesCreatedUnderUmask022AreNotReadableByOthers() throws Exception {
        Assumptions.assumeTrue(ProcessUmask.current() >= 0, "no libc binding here: umask cannot be set");
        int saved = ProcessUmask.set(0022);
        try {
            Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
            try (Agent agent = TestAgents.start(s);
                 ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).build())) {
                DiskStream d = client.openDisk("disk-0", 1);
                for (int i = 0; i < 16; i++) {
                    d.write(i * 4096L, new byte[4096]);
                }
                d.tag(TagType.CRASH_CONSISTENT, "t1", System.currentTimeMillis() * 1000);
                d.flush(Duration.ofSeconds(10));
                TestAgents.awaitApplied(agent, Duration.ofSeconds(30));
                var disk = agent.disks().byId("disk-0");
                new io.mtagent.agent.recovery.ExportService().export(disk, disk.lastAcceptedSeq(),
                        dir.resolve("out").resolve("image.raw"), io.mtagent.agent.recovery.ProgressListener.NONE);
            }
            List<Path> created;
            try (Stream<Path> all = Files.walk(dir)) {
                created = all.filter(Files::isRegularFile).toList();
            }
            assertThat(created).as("files the agent created").hasSizeGreaterThan(5)
                    .anyMatch(p -> p.toString().endsWith("disk-0.img"))
                    .anyMatch(p -> p.toString().endsWith("image.raw"));
            for (Path p : created) {
                if (p.getFileName().toString().equals(io.mtagent.agent.security.AgentIdentity.CERT_FILE)) {
                    continue; // the public certificate is readable on purpose (operators pin its fingerprint)
                }
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                assertThat(perms).as("%s is %s", p, PosixFilePermissions.toString(perms))
                        .doesNotContain(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                                PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE);
            }
        } finally {
            ProcessUmask.set(saved);
        }
    }

    @Test
    void aDataDirectoryOthersCanWriteIsRefused() throws Exception {
        Path state = dir.resolve("state");
        Files.createDirectories(state);
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
        int saved = ProcessUmask.current();
        try {
            assertThatThrownBy(() -> TestAgents.start(TestAgents.settings(dir, 1, 1 << 20)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("state.dir")
                    .hasMessageContaining("rwxrwxrwx").hasMessageContaining("chmod");
        } finally {
            ProcessUmask.set(saved);
        }
    }
}
