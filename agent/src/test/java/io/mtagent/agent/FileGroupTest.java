package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.recovery.ExportService;
import io.mtagent.agent.recovery.ProgressListener;
import io.mtagent.agent.security.AgentIdentity;
import io.mtagent.nativeio.FileMode;
import io.mtagent.nativeio.ProcessUmask;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code files.group}: under umask 022, with {@code files.group=users}, every data file the agent creates (target,
 * ingest log, journal, state, export) is 0640 and belongs to the group, every data directory 2750, the secrets stay
 * 0600; a user in the group reads a data file, a user outside it does not. Needs root (to connect as other users
 * with setpriv); skips loudly elsewhere.
 */
class FileGroupTest {
    private static final String GROUP = "users"; // gid 100 on Debian
    private static final Set<String> SECRETS = Set.of("agent.key", "auth.key", "control.token");

    @Test
    void dataFilesAreReadableByTheConfiguredGroupOnly() throws Exception {
        if (!"root".equals(System.getProperty("user.name")) || !new File("/usr/bin/setpriv").canExecute()
                || ProcessUmask.current() < 0) {
            System.err.println("SKIPPED: FileGroupTest needs root, setpriv (util-linux) and the libc binding to read"
                    + " the files as other users");
            Assumptions.assumeTrue(false, "not root, no setpriv or no libc binding");
        }
        // Under /tmp with mode 0755 so that only the agent's own permissions decide who reads what.
        Path base = Files.createTempDirectory(Path.of("/tmp"), "mtagent-group");
        int saved = ProcessUmask.set(0022);
        try {
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
            Map<String, String> s = TestAgents.settingsWithRetention(base, 1, 1 << 20);
            s.put("files.group", GROUP);
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
                new ExportService().export(disk, disk.lastAcceptedSeq(), base.resolve("out").resolve("image.raw"),
                        ProgressListener.NONE);
            }
            List<Path> files;
            try (Stream<Path> all = Files.walk(base)) {
                files = all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
            }
            assertThat(files).anyMatch(p -> p.endsWith(Path.of("targets", "disk-0.img")))
                    .anyMatch(p -> p.toString().endsWith("image.raw"))
                    .anyMatch(p -> p.startsWith(base.resolve("cache")))
                    .anyMatch(p -> p.startsWith(base.resolve("retention")));
            Path ingestFile = null;
            for (Path p : files) {
                String name = p.getFileName().toString();
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
                String mode = PosixFilePermissions.toString(a.permissions());
                if (SECRETS.contains(name)) {
                    assertThat(mode).as("secret %s", p).isEqualTo("rw-------");
                } else if (!name.equals(AgentIdentity.CERT_FILE)) {
                    assertThat(mode).as("%s", p).isEqualTo("rw-r-----");
                    assertThat(a.group().getName()).as("group of %s", p).isEqualTo(GROUP);
                }
                if (p.startsWith(base.resolve("cache")) && ingestFile == null) {
                    ingestFile = p;
                }
            }
            for (String dir : List.of("state", "cache", "retention", "out")) {
                Path p = base.resolve(dir);
                int mode = (Integer) Files.getAttribute(p, "unix:mode");
                assertThat(mode & 07777).as("mode of %s", p).isEqualTo(FileMode.SET_GROUP_ID | 0750);
                assertThat(Files.readAttributes(p, PosixFileAttributes.class).group().getName()).isEqualTo(GROUP);
            }
            assertThat(readAs(100, ingestFile)).as("a member of %s reads an ingest-log file", GROUP).isZero();
            assertThat(readAs(65534, ingestFile)).as("a user outside the group does not").isNotZero();
            assertThat(readAs(100, base.resolve("state").resolve("auth.key"))).as("nor the verifier").isNotZero();
        } finally {
            ProcessUmask.set(saved);
            try (Stream<Path> all = Files.walk(base)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** {@code cat FILE} as uid 65534 with only the group {@code gid}; the exit status. */
    private static int readAs(int gid, Path file) throws Exception {
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=" + gid, "--clear-groups", "cat",
                file.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }
}
