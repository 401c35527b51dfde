package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
    void certCreatesTheIdentityAndPrintsItsFingerprint() throws Exception {
        Path conf = dir.resolve("a.properties");
        Files.writeString(conf, "state.dir=" + dir.resolve("state") + "\ncache.dir=" + dir.resolve("cache") + "\n");
        assertThat(MtAgentCli.execute("cert", "--config", conf.toString())).isZero();
        assertThat(dir.resolve("state/agent.key")).exists();
        assertThat(dir.resolve("state/agent.crt")).exists();
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
