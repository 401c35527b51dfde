package io.mtagent.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mtagent.agent.TestAgents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetentionVolumeCheckTest {
    @TempDir
    Path dir;

    @Test
    void theCacheVolumeIsRefusedUnlessSharingIsAllowed() {
        Path cache = dir.resolve("cache");
        List<RetentionVolumeCheck.Failure> f = RetentionVolumeCheck.check(dir.resolve("retention"), null, cache, List.of(), false);
        assertThat(f).extracting(RetentionVolumeCheck.Failure::rule).contains("cache-volume");
        assertThat(RetentionVolumeCheck.check(dir.resolve("retention"), null, cache, List.of(), true)).isEmpty();
    }

    @Test
    void aPathThatCannotBeCreatedIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        assertThat(RetentionVolumeCheck.check(file.resolve("sub"), null, dir, List.of(), true))
                .extracting(RetentionVolumeCheck.Failure::rule).containsExactly("not-writable");
    }

    @Test
    void theAgentRefusesToStartOnABadRetentionVolumeAndNamesTheRule() {
        Map<String, String> s = TestAgents.settings(dir, 1, 1 << 20);
        s.put("retention.dir", dir.resolve("retention").toString());
        s.put("retention.allow.shared.volume", "false");
        assertThatThrownBy(() -> TestAgents.start(s)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("[cache-volume]").hasMessageContaining("retention check");
    }
}
