package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.Captured;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.protocol.DiskState;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mtagent disk pause|resume|request-resync|rescan} against a running agent, by disk id and by name. */
class DiskSwitchesCliTest {
    @TempDir
    Path dir;

    @Test
    void theSwitchesChangeTheDiskAndRescanOpensANewDisk() throws Exception {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        Path file = TestAgents.writeConfig(dir.resolve("agent.properties"), s);
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry())) {
            String[] cfg = {"--config", file.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()};
            Captured pause = Captured.run(with(cfg, "disk", "pause", "--disk", "d0")); // the configured name
            assertThat(pause.code()).as(pause.err()).isZero();
            assertThat(pause.out()).contains("disk-0: paused");
            assertThat(agent.disks().byId("disk-0").state()).isEqualTo(DiskState.PAUSED);
            assertThat(Captured.run(with(cfg, "disk", "resume", "--disk", "disk-0")).out()).contains("disk-0: protected");
            Captured resync = Captured.run(with(cfg, "disk", "request-resync", "--disk", "disk-0"));
            assertThat(resync.out()).contains("disk-0: needs-resync", "operator request");
            Captured unknown = Captured.run(with(cfg, "disk", "pause", "--disk", "nope"));
            assertThat(unknown.code()).isEqualTo(2);
            assertThat(unknown.err()).contains("no disk 'nope'");

            s.put("disk.d1.id", "disk-1");
            s.put("disk.d1.path", dir.resolve("targets/disk-1.img").toString());
            s.put("disk.d1.size", "1MiB");
            TestAgents.writeConfig(file, s);
            Captured rescan = Captured.run(with(cfg, "disk", "rescan"));
            assertThat(rescan.code()).as(rescan.err()).isZero();
            assertThat(rescan.out()).contains("opened: disk-1");
            assertThat(agent.disks().byId("disk-1")).isNotNull();
            assertThat(Captured.run(with(cfg, "disk", "rescan")).out()).contains("no new disk");
        }
    }

    private static String[] with(String[] config, String... args) {
        String[] all = new String[args.length + config.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(config, 0, all, args.length, config.length);
        return all;
    }
}
