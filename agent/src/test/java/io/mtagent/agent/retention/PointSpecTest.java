package io.mtagent.agent.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The one point syntax: every accepted spelling and its canonical form, and the refusals with their reason. */
class PointSpecTest {
    @Test
    void spellingsAndTheirCanonicalForm() {
        assertThat(PointSpec.canonical("latest")).isEqualTo("latest");
        assertThat(PointSpec.canonical("LATEST")).isEqualTo("latest");
        assertThat(PointSpec.canonical("latest processed")).isEqualTo("latest-processed");
        assertThat(PointSpec.canonical("latest-processed")).isEqualTo("latest-processed");
        assertThat(PointSpec.canonical("latest-app-consistent")).isEqualTo("latest-app");
        assertThat(PointSpec.canonical("latest-app")).isEqualTo("latest-app");
        assertThat(PointSpec.canonical("1234")).isEqualTo("seq:1234");
        assertThat(PointSpec.canonical("seq:1234")).isEqualTo("seq:1234");
        assertThat(PointSpec.canonical("before-upgrade")).isEqualTo("tag:before-upgrade");
        assertThat(PointSpec.canonical("tag:latest")).isEqualTo("tag:latest"); // a tag named like a keyword
        assertThat(PointSpec.canonical("tag:1234")).isEqualTo("tag:1234");
        assertThat(PointSpec.canonical("2026-11-23T10:42:17Z")).isEqualTo("2026-11-23T10:42:17Z");
        assertThat(PointSpec.canonical("2026-11-23T10:42:17.123456Z")).isEqualTo("2026-11-23T10:42:17.123456Z");
        assertThat(PointSpec.canonical("2026-11-23T11:42:17+01:00")).isEqualTo("2026-11-23T10:42:17Z");
        assertThat(PointSpec.canonical("2026-11-23 11:42:17+01:00")).isEqualTo("2026-11-23T10:42:17Z");
        assertThat(PointSpec.canonical("2026-11-23T11:42:17+01:00[Europe/Paris]")).isEqualTo("2026-11-23T10:42:17Z");
    }

    @Test
    void malformedPointsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> PointSpec.parse("2026-11-23T10:42:17")).hasMessageContaining("has no time zone")
                .hasMessageContaining("2026-11-23T10:42:17Z");
        assertThatThrownBy(() -> PointSpec.parse("2026-13-45T99:00:00Z")).hasMessageContaining("is not a time");
        assertThatThrownBy(() -> PointSpec.parse("seq:abc")).hasMessageContaining("seq:N takes a sequence number");
        assertThatThrownBy(() -> PointSpec.parse("tag:")).hasMessageContaining("tag:NAME takes a tag name");
        assertThatThrownBy(() -> PointSpec.parse(" ")).hasMessageContaining("no point given");
    }
}
