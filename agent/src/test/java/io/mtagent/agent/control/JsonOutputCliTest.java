package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mtagent.agent.Agent;
import io.mtagent.agent.TestAgents;
import io.mtagent.agent.cli.Captured;
import io.mtagent.agent.config.AgentConfig;
import io.mtagent.protocol.TagType;
import io.mtagent.protocol.client.DiskStream;
import io.mtagent.protocol.client.ReplicationClient;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --json} on the commands that act on a disk or check the logs (disk switches, release/attach, recover and
 * commit, verify through the agent and offline): standard output is one JSON document with the format version, a
 * script parses it alone (the text goes to standard error), and it says what the text says.
 */
class JsonOutputCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void everyActingCommandPrintsOneVersionedDocument() throws Exception {
        Map<String, String> s = TestAgents.settingsWithRetention(dir, 1, 1 << 20);
        Path file = TestAgents.writeConfig(dir.resolve("agent.properties"), s);
        String[] offline = {"--config", file.toString()};
        try (Agent agent = TestAgents.start(AgentConfig.load(file, Map.of()), new SimpleMeterRegistry());
             ReplicationClient client = ReplicationClient.connect(TestAgents.client(agent).compress(false).build())) {
            String[] cfg = {"--config", file.toString(), "--set",
                "control.listen=127.0.0.1:" + agent.controlAddress().getPort()};
            DiskStream st = client.openDisk("disk-0", 1);
            st.write(0, Unpooled.wrappedBuffer(new byte[4096]), 1);
            st.tag(TagType.APP_CONSISTENT, "before", 1);
            byte[] changed = new byte[512];
            changed[0] = 1;
            st.write(4096, Unpooled.wrappedBuffer(changed), 2);
            st.flush(Duration.ofSeconds(10));
            TestAgents.awaitApplied(agent, Duration.ofSeconds(10));

            JsonNode pause = document(with(cfg, "disk", "pause", "--disk", "d0", "--json"));
            assertThat(pause.path("disk").asText()).isEqualTo("disk-0");
            assertThat(pause.path("state").asText()).isEqualTo("paused");
            assertThat(document(with(cfg, "disk", "resume", "--disk", "disk-0", "--json")).path("state").asText())
                    .isEqualTo("protected");
            assertThat(document(with(cfg, "disk", "rescan", "--json")).path("added").isArray()).isTrue();

            JsonNode verify = document(with(cfg, "verify", "--json"));
            assertThat(verify.path("ok").asBoolean()).as(verify.toString()).isTrue();
            assertThat(verify.path("disks").get(0).path("ingestLog").asText()).isEqualTo("ok");

            client.close(); // a recover needs the disk's stream closed
            JsonNode recover = document(with(cfg, "recover", "--disk", "disk-0", "--to", "tag:before", "--yes",
                    "--json")); // the job's progress goes to standard error
            assertThat(recover.path("disks").get(0).path("disk").asText()).as(recover.toString()).isEqualTo("disk-0");
            JsonNode commit = document(with(cfg, "commit", "--disk", "disk-0", "--json"));
            assertThat(commit.path("disks").get(0).path("disk").asText()).isEqualTo("disk-0");
            assertThat(commit.path("disks").get(0).path("state").asText()).isEqualTo("needs-resync");

            JsonNode release = document(with(cfg, "disk", "release", "--disk", "disk-0", "--json"));
            assertThat(release.path("state").asText()).as(release.toString()).isEqualTo("released");
            JsonNode attach = document(with(cfg, "disk", "attach", "--disk", "disk-0", "--unchanged", "--json"));
            assertThat(attach.path("state").asText()).as(attach.toString()).isEqualTo("needs-resync");
        }
        JsonNode stopped = document(with(offline, "verify", "--offline", "--json"));
        assertThat(stopped.path("ok").asBoolean()).as(stopped.toString()).isTrue();
        JsonNode disk = stopped.path("disks").get(0);
        assertThat(disk.path("disk").asText()).isEqualTo("disk-0");
        assertThat(disk.path("ingestLog").asText()).isEqualTo("ok");
        assertThat(disk.path("durableSeq").asLong()).isEqualTo(disk.path("appliedSeq").asLong()).isPositive();
        assertThat(disk.path("retentionJournal").asText()).isEqualTo("ok");
    }

    /** Runs the command, expects exit 0 and standard output that is exactly one JSON object with the version. */
    private static JsonNode document(String... args) throws Exception {
        Captured c = Captured.run(args);
        assertThat(c.code()).as("%s: %s", String.join(" ", args), c.err()).isZero();
        JsonNode doc;
        try {
            doc = JSON.readTree(c.out());
        } catch (IOException e) {
            throw new AssertionError("not one JSON document on standard output: " + c.out(), e);
        }
        assertThat(doc.isObject()).as(c.out()).isTrue();
        assertThat(doc.path("version").asInt()).as(c.out()).isEqualTo(1);
        assertThat(c.out().trim()).as("nothing but the document on standard output").endsWith("}");
        return doc;
    }

    private static String[] with(String[] config, String... args) {
        String[] all = new String[args.length + config.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(config, 0, all, args.length, config.length);
        return all;
    }
}
