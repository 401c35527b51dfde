package io.mtagent.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigTest {
    @TempDir
    Path dir;

    @Test
    void defaults() {
        AgentConfig config = AgentConfig.of(Map.of());

        assertThat(config.agentName()).isNotBlank();
        assertThat(config.dataListen()).isEqualTo(new HostPort("0.0.0.0", 9443));
        assertThat(config.dataInsecurePlaintext()).isFalse();
        assertThat(config.dataMaxWriteBytes()).isEqualTo(1 << 20);
        assertThat(config.dataCreditWindowBytes()).isEqualTo(8L << 20);
        assertThat(config.stateDir()).isEqualTo(Path.of("/var/lib/mtagent"));
        assertThat(config.cacheDir()).isEqualTo(Path.of("/var/cache/mtagent"));
        assertThat(config.cacheMaxBytes()).isZero();
        assertThat(config.cacheMaxBytesFor(1000)).isEqualTo(800);
        assertThat(config.dataMemoryMaxBytes()).as("automatic").isZero();
        assertThat(config.dataMemoryMaxBytesFor(256L << 20)).as("a 256 MiB heap").isEqualTo(32L << 20);
        assertThat(config.dataMemoryMaxBytesFor(1L << 30)).as("a 1 GiB heap: at most 64 MiB").isEqualTo(64L << 20);
        assertThat(config.dataMemoryMaxBytesFor(64L << 20)).as("a tiny heap: at least 16 MiB").isEqualTo(16L << 20);
        assertThat(config.diskQuotaBytes()).isEqualTo(256L << 20);
        assertThat(config.ingestSegmentBytes()).isEqualTo(64L << 20);
        assertThat(config.ingestCommitMaxBytes()).isEqualTo(4L << 20);
        assertThat(config.ingestCommitMaxDelay()).isEqualTo(Duration.ofMillis(2));
        assertThat(config.authIterations()).isEqualTo(210_000);
        assertThat(config.authPassphraseFile()).isEmpty();
        assertThat(config.disks()).isEmpty();
    }

    @Test
    void fileValuesAndCommandLineOverrides() throws Exception {
        Path file = write("""
                # a comment
                agent.name = target-07
                data.listen=[::1]:0
                data.max.write.bytes : 512KiB
                cache.max.bytes 2GiB
                ingest.commit.max.delay=500ms
                auth.passphrase.file=/etc/mtagent/passphrase
                state.dir=/srv/mtagent/state   \s
                """);

        AgentConfig config = AgentConfig.load(file, Map.of("data.listen", "127.0.0.1:19443",
                "ingest.commit.max.delay", "5ms"));

        assertThat(config.agentName()).isEqualTo("target-07");
        assertThat(config.dataListen()).isEqualTo(new HostPort("127.0.0.1", 19443));
        assertThat(config.dataMaxWriteBytes()).isEqualTo(512 * 1024);
        assertThat(config.cacheMaxBytes()).isEqualTo(2L << 30);
        assertThat(config.cacheMaxBytesFor(1000)).isEqualTo(2L << 30);
        assertThat(config.ingestCommitMaxDelay()).isEqualTo(Duration.ofMillis(5));
        assertThat(config.authPassphraseFile()).contains(Path.of("/etc/mtagent/passphrase"));
        assertThat(config.stateDir()).isEqualTo(Path.of("/srv/mtagent/state"));
    }

    @Test
    void ipv6ListenAddressAndPortZero() {
        AgentConfig config = AgentConfig.of(Map.of("data.listen", "[::]:0"));
        assertThat(config.dataListen().host()).isEqualTo("::");
        assertThat(config.dataListen().port()).isZero();
        assertThat(config.dataListen()).hasToString("[::]:0");
    }

    @Test
    void unknownKeyInFileNamesTheLineAndSuggestsTheClosestKey() throws Exception {
        Path file = write("""
                agent.name=a

                data.lisen=0.0.0.0:9443
                """);

        assertThatThrownBy(() -> AgentConfig.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("unknown setting 'data.lisen' (" + file + " line 3) — did you mean 'data.listen'?");
    }

    @Test
    void unknownDiskKeySuggestsTheKeyForTheSameDisk() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.d0.pth", "/dev/sdb")))
                .hasMessageContaining("unknown setting 'disk.d0.pth' (command line) — did you mean 'disk.d0.path'?");
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.d0.sector", "4096")))
                .hasMessageContaining("did you mean 'disk.d0.sector.size'?");
    }

    @Test
    void unrelatedUnknownKeyPointsToTheHelp() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("colour", "blue")))
                .hasMessageContaining("unknown setting 'colour'")
                .hasMessageContaining("--help-config")
                .hasMessageNotContaining("did you mean");
    }

    @Test
    void badSizeNamesKeyValueAllowedAndFile() throws Exception {
        Path file = write("data.max.write.bytes=64MB\n");

        assertThatThrownBy(() -> AgentConfig.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'data.max.write.bytes'")
                .hasMessageContaining(file + " line 1")
                .hasMessageContaining("'64MB'")
                .hasMessageContaining("KiB, MiB, GiB or TiB")
                .hasMessageContaining("between 4KiB and 16MiB");
    }

    @Test
    void sizeOutOfRangeSaysTheRange() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("data.max.write.bytes", "32MiB")))
                .hasMessageContaining("must be between 4KiB and 16MiB, a multiple of 512");
    }

    @Test
    void badDurationsAreRefused() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("ingest.commit.max.delay", "5m")))
                .hasMessageContaining("'m' is ambiguous");
        assertThatThrownBy(() -> AgentConfig.of(Map.of("ingest.commit.max.delay", "fast")))
                .hasMessageContaining("not a duration");
        assertThatThrownBy(() -> AgentConfig.of(Map.of("ingest.commit.max.delay", "2s")))
                .hasMessageContaining("must be between 0 and 1s");
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("data.insecure.plaintext", "yes", "auth.iterations", "12",
                "data.lisen", "x")))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).hasSize(3));
    }

    @Test
    void creditWindowMustHoldTwoMaximalWrites() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("data.max.write.bytes", "8MiB")))
                .hasMessageContaining("'data.credit.window.bytes' (default): 8MiB — must be at least 16MiB");
        assertThat(AgentConfig.of(Map.of("data.max.write.bytes", "8MiB", "data.credit.window.bytes", "16MiB"))
                .dataCreditWindowBytes()).isEqualTo(16L << 20);
    }

    @Test
    void duplicateKeyInFileIsRefused() throws Exception {
        Path file = write("data.listen=127.0.0.1:1\n# later\ndata.listen=127.0.0.1:2\n");

        assertThatThrownBy(() -> AgentConfig.load(file, Map.of()))
                .hasMessageContaining("'data.listen' is given more than once")
                .hasMessageContaining("lines [1, 3]");
    }

    @Test
    void diskKeysAreParsed() throws Exception {
        Path file = write("""
                disk.b.path=/dev/disk/by-id/wwn-0x5000c500a1b2c3d4
                disk.b.id=naa.6000c29a1b2c3d4e
                disk.b.sector.size=4096
                disk.a.path=/var/lib/mtagent/a.img
                disk.a.size=1GiB
                """);

        AgentConfig config = AgentConfig.load(file, Map.of());

        assertThat(config.disks()).containsExactly(
                new DiskConfig("a", "a", Path.of("/var/lib/mtagent/a.img"), 1L << 30, 512),
                new DiskConfig("b", "naa.6000c29a1b2c3d4e", Path.of("/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"), 0,
                        4096));
    }

    @Test
    void diskWithoutPathOrWithBadNameIsRefused() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.d0.size", "1GiB")))
                .hasMessageContaining("'disk.d0.path' is required");
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.Big.Disk.path", "/x")))
                .hasMessageContaining("the name 'Big.Disk' must be 1 to 64 characters");
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.d0.path", "/x", "disk.d0.sector.size", "1024")))
                .hasMessageContaining("one of 512, 4096");
    }

    @Test
    void duplicateDiskIdsAndPathsAreRefused() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of(
                "disk.a.path", "/dev/sdb", "disk.a.id", "same",
                "disk.b.path", "/dev/sdc", "disk.b.id", "same")))
                .hasMessageContaining("disks 'a' and 'b' both have the id 'same'");
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.a.path", "/dev/sdb", "disk.b.path", "/dev/../dev/sdb")))
                .hasMessageContaining("both use");
        // A disk id defaults to its name, so an explicit id equal to another disk's name collides too.
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.a.path", "/dev/sdb", "disk.b.path", "/dev/sdc",
                "disk.b.id", "a")))
                .hasMessageContaining("both have the id 'a'");
    }

    @Test
    void diskSizeMustBeWholeSectors() {
        assertThatThrownBy(() -> AgentConfig.of(Map.of("disk.a.path", "/x.img", "disk.a.size", "1000")))
                .hasMessageContaining("not a multiple of the sector size 512");
    }

    @Test
    void embeddedDefaultKeepsEverythingUnderTheBaseDirectory() {
        AgentConfig config = AgentConfig.embeddedDefault(dir);

        Path data = dir.resolve("mtagent-data");
        assertThat(config.stateDir()).isEqualTo(data.resolve("state"));
        assertThat(config.cacheDir()).isEqualTo(data.resolve("cache"));
        assertThat(config.dataListen()).isEqualTo(new HostPort("127.0.0.1", 9443));
        assertThat(config.disks()).containsExactly(
                new DiskConfig("disk0", "disk0", data.resolve("disks/disk0.img"), 64L << 20, 512),
                new DiskConfig("disk1", "disk1", data.resolve("disks/disk1.img"), 64L << 20, 512));
        assertThat(AgentConfig.embeddedDefault(dir, Map.of("data.listen", "127.0.0.1:0")).dataListen().port())
                .isZero();
    }

    @Test
    void renderHelpMentionsEveryKeyWithItsDefault() {
        String help = AgentConfig.renderHelp();

        for (ConfigKey<?> key : AgentConfigKeys.DEF.keys()) {
            assertThat(help).contains(key.name() + " = " + (key.defaultText().isEmpty() ? "(empty)" : key.defaultText()));
        }
        for (ConfigKey<?> key : AgentConfigKeys.DISKS.keys()) {
            assertThat(help).contains("disk.<name>." + key.name() + " = ");
        }
        assertThat(help).contains("data.max.write.bytes = 1MiB").contains("ingest.commit.max.delay = 2ms")
                .contains("agent.name = the host name").contains("disk.<name>.path = (required)");
        assertThat(help.lines()).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(100));
    }

    @Test
    void toStringListsEffectiveSettingsThatParseBack() {
        AgentConfig config = AgentConfig.embeddedDefault(dir, Map.of("agent.name", "t1"));
        Map<String, String> parsedBack = new java.util.HashMap<>();
        config.toString().lines().forEach(line -> parsedBack.put(line.substring(0, line.indexOf('=')),
                line.substring(line.indexOf('=') + 1)));

        AgentConfig again = AgentConfig.of(parsedBack);
        assertThat(again.toString()).isEqualTo(config.toString());
        assertThat(again.disks()).isEqualTo(config.disks());
    }

    private Path write(String text) throws Exception {
        Path file = dir.resolve("mtagent.properties");
        Files.writeString(file, text);
        return file;
    }

}
