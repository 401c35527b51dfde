package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mtagent.agent.ingest.ScratchFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator commands, run in-process exactly as the jar runs them. */
class CliTest {
    @TempDir
    Path dir;

    @Test
    void demoStreamsVerifiesAndExitsZero() {
        int code = MtAgentCli.execute("demo", "--seconds", "2", "--disks", "2", "--disk-mib", "4",
                "--dir", dir.resolve("demo").toString());
        assertThat(code).isZero();
        assertThat(dir.resolve("demo/disks/disk0.img")).exists();
    }

    @Test
    void demoAndBenchRefuseANonEmptyFolderTheyDidNotCreateAndDeleteNothing() throws Exception {
        Path precious = dir.resolve("precious");
        Files.createDirectories(precious.resolve("sub"));
        Files.writeString(precious.resolve("notes.txt"), "my notes");
        Files.writeString(precious.resolve("sub/more.txt"), "more");
        Captured demo = Captured.run("demo", "--seconds", "1", "--disks", "1", "--disk-mib", "1", "--dir",
                precious.toString());
        assertThat(demo.code()).isEqualTo(2);
        assertThat(demo.err()).contains("--dir " + precious, "not empty", "was not created by mtagent");
        Captured bench = Captured.run("bench", "--spawn", "--seconds", "1", "--dir", precious.toString());
        assertThat(bench.code()).isEqualTo(2);
        assertThat(bench.err()).contains("--dir " + precious, "not empty");
        assertThat(precious.resolve("notes.txt")).hasContent("my notes");
        assertThat(precious.resolve("sub/more.txt")).hasContent("more");
        assertThat(precious.resolve(ScratchFolder.MARKER)).doesNotExist();
    }

    @Test
    void demoReusesTheFolderItCreatedAndSaysWhereItsDataIsAndHowLarge() throws Exception {
        Path work = dir.resolve("demo");
        Captured first = Captured.run("demo", "--seconds", "1", "--disks", "1", "--disk-mib", "2", "--dir",
                work.toString());
        assertThat(first.code()).isZero();
        assertThat(first.out()).contains("its data is in " + work, " MiB in ", " files)");
        assertThat(work.resolve(ScratchFolder.MARKER)).exists();
        Files.writeString(work.resolve("leftover.txt"), "from the first run");
        assertThat(Captured.run("demo", "--seconds", "1", "--disks", "1", "--disk-mib", "2", "--dir",
                work.toString()).code()).isZero();
        assertThat(work.resolve("leftover.txt")).doesNotExist(); // its own folder is emptied first
    }

    @Test
    void certCreatesTheIdentityAndPrintsItsFingerprint() throws Exception {
        Path conf = dir.resolve("a.properties");
        Files.writeString(conf, "state.dir=" + dir.resolve("state") + "\ncache.dir=" + dir.resolve("cache") + "\n");
        assertThat(MtAgentCli.execute("cert", "--config", conf.toString())).isZero();
        assertThat(dir.resolve("state/agent.key")).exists();
        assertThat(dir.resolve("state/agent.crt")).exists();
        Captured json = Captured.run("cert", "--json", "--config", conf.toString());
        assertThat(json.code()).isZero();
        assertThat(json.out()).containsPattern("\"version\" : 1,")
                .containsPattern("\"fingerprint\" : \"([0-9A-F]{2}:){31}[0-9A-F]{2}\"").contains("\"validUntil\"");
    }

    @Test
    void badConfigurationFailsWithExitCode2() throws Exception {
        Path conf = dir.resolve("bad.properties");
        Files.writeString(conf, "data.lisen=0.0.0.0:9443\n");
        assertThat(MtAgentCli.execute("cert", "--config", conf.toString())).isEqualTo(2);
    }

    @Test
    void runRefusesToStartWithoutAPassphrase() throws Exception {
        Path conf = dir.resolve("nopass.properties");
        Files.writeString(conf, "state.dir=" + dir.resolve("state") + "\ncache.dir=" + dir.resolve("cache")
                + "\ndata.listen=127.0.0.1:0\n");
        assertThat(MtAgentCli.execute("run", "--config", conf.toString())).isEqualTo(2);
    }
}
