package io.mtagent.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * monitoring/'s alert rules: {@code promtool check rules} and {@code promtool test rules} pass (the unit tests
 * say when each rule fires and that it is quiet when apply keeps up and after a restart); every rule has a
 * summary, a description, a runbook link into a README anchor that exists, and at least one unit test.
 */
class MonitoringRulesTest {
    private static final Path RULES = PromTools.MONITORING.resolve("mtagent-alerts.yml");
    private static final Path TESTS = PromTools.MONITORING.resolve("mtagent-alerts.test.yml");

    @Test
    void promtoolChecksTheRulesAndTheirUnitTestsPass() throws Exception {
        PromTools.requireTool("MonitoringRulesTest", "promtool");
        PromTools.Result check = PromTools.promtool(PromTools.MONITORING, null, "check", "rules", RULES.toString());
        assertThat(check.exit()).as("promtool check rules:\n%s", check.output()).isZero();
        PromTools.Result test = PromTools.promtool(PromTools.MONITORING, null, "test", "rules", TESTS.toString());
        assertThat(test.exit()).as("promtool test rules:\n%s", test.output()).isZero();
        assertThat(test.output()).contains("SUCCESS");
    }

    @Test
    void everyRuleHasItsTextsARunbookInTheReadmeAndAUnitTest() throws Exception {
        String readme = Files.readString(PromTools.MONITORING.resolveSibling("README.md"));
        String tests = Files.readString(TESTS);
        // One block per rule, from its "- alert:" line to the next (promtool has already checked the YAML).
        String[] blocks = Files.readString(RULES).split("\\n\\s+- alert: ");
        assertThat(blocks.length - 1).as("rules").isGreaterThanOrEqualTo(14);
        for (int i = 1; i < blocks.length; i++) {
            String block = blocks[i];
            String name = block.substring(0, block.indexOf('\n')).trim();
            assertThat(block).as(name + " summary").containsPattern("\\n\\s+summary: \"[^\"]+\"");
            assertThat(block).as(name + " description").containsPattern("\\n\\s+description: \"[^\"]+\"");
            assertThat(block).as(name + " runbook").contains("runbook_url: \"README.md#" + name + "\"");
            assertThat(block).as(name + " severity").containsPattern("severity: (warning|critical)");
            assertThat(readme).as("README anchor for " + name).contains("<a id=\"" + name + "\"></a>");
            assertThat(tests).as("a promtool unit test of " + name).contains("alertname: " + name);
        }
    }
}
