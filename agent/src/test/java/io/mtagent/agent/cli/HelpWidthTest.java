package io.mtagent.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every command's help, laid out for an 80-column terminal (as {@code $COLUMNS=80} makes it), fits: no line is
 * wider than 80 columns, so the terminal never wraps a word in two, and the paragraphs are reflowed rather than
 * cut (a description sentence stays whole across the wrapped lines).
 */
class HelpWidthTest {

    @Test
    void everyCommandsHelpFitsEightyColumns() {
        List<CommandLine> all = new ArrayList<>();
        collect(MtAgentCli.commandLine(80), all);
        assertThat(all).hasSizeGreaterThan(20);
        for (CommandLine c : all) {
            String help = c.getUsageMessage();
            String name = c.getCommandSpec().qualifiedName();
            for (String line : help.lines().toList()) {
                assertThat(line.length()).as(name + " --help: " + line).isLessThanOrEqualTo(80);
            }
        }
        String recover = String.join(" ", MtAgentCli.commandLine(80).getSubcommands().get("recover").getUsageMessage()
                .lines().map(String::strip).toList());
        assertThat(recover).contains("What is overwritten is kept in an undo journal on the retention volume, so"
                + " until you commit you can change your mind");
    }

    private static void collect(CommandLine c, List<CommandLine> out) {
        out.add(c);
        for (CommandLine sub : c.getSubcommands().values()) {
            if (!out.contains(sub)) {
                collect(sub, out);
            }
        }
    }
}
