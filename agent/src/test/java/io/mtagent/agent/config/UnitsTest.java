package io.mtagent.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UnitsTest {
    @Test
    void sizes() {
        assertThat(Units.parseSize("4096")).isEqualTo(4096);
        assertThat(Units.parseSize("512KiB")).isEqualTo(512 * 1024);
        assertThat(Units.parseSize("64MiB")).isEqualTo(64L << 20);
        assertThat(Units.parseSize("1 GiB")).isEqualTo(1L << 30);
        assertThat(Units.parseSize("2tib")).isEqualTo(2L << 40);
        assertThat(Units.parseSize("100B")).isEqualTo(100);
        assertThatThrownBy(() -> Units.parseSize("64MB")).hasMessageContaining("unknown size unit 'MB'");
        assertThatThrownBy(() -> Units.parseSize("1.5GiB")).hasMessageContaining("not a size");
        assertThatThrownBy(() -> Units.parseSize("-1")).hasMessageContaining("not a size");
        assertThatThrownBy(() -> Units.parseSize("9999999999TiB")).hasMessageContaining("too large");
        assertThatThrownBy(() -> Units.parseSize("99999999999999999999")).hasMessageContaining("too large");
    }

    @Test
    void sizesPrintInTheLargestExactUnit() {
        assertThat(Units.formatSize(0)).isEqualTo("0");
        assertThat(Units.formatSize(1536)).isEqualTo("1536");
        assertThat(Units.formatSize(4096)).isEqualTo("4KiB");
        assertThat(Units.formatSize(16L << 20)).isEqualTo("16MiB");
        assertThat(Units.formatSize(3L << 40)).isEqualTo("3TiB");
        assertThat(Units.formatSize(1L << 50)).isEqualTo("1024TiB");
    }

    @Test
    void durations() {
        assertThat(Units.parseDuration("2ms")).isEqualTo(Duration.ofMillis(2));
        assertThat(Units.parseDuration("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(Units.parseDuration("15min")).isEqualTo(Duration.ofMinutes(15));
        assertThat(Units.parseDuration("24h")).isEqualTo(Duration.ofHours(24));
        assertThat(Units.parseDuration("0")).isZero();
        assertThatThrownBy(() -> Units.parseDuration("5")).hasMessageContaining("not a duration");
        assertThatThrownBy(() -> Units.parseDuration("5m")).hasMessageContaining("ambiguous");
        assertThatThrownBy(() -> Units.parseDuration("5 fortnights")).hasMessageContaining("unknown duration unit");
        for (String text : new String[] {"2ms", "1500ms", "5s", "15min", "23h", "2d"}) {
            assertThat(Units.formatDuration(Units.parseDuration(text))).isEqualTo(text);
        }
        assertThat(Units.formatDuration(Duration.ofMinutes(60))).isEqualTo("1h");
        assertThat(Units.formatDuration(Units.parseDuration("24h"))).isEqualTo("1d");
    }
}
