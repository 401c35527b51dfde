package io.mtagent.agent.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.IHelpSectionRenderer;

/**
 * Renders a command's description to the help width: the description is written as lines of about 110 columns,
 * so consecutive plain lines are joined into paragraphs and wrapped at word boundaries to the width in force
 * ({@code $COLUMNS}); blank lines separate paragraphs, and lines that are laid out by hand (indented, or holding an
 * aligned run of two spaces, like the examples and tables) are kept as they are. Stateless.
 */
final class HelpReflow implements IHelpSectionRenderer {
    /** Installs the renderer on {@code cl} and every subcommand below it. */
    static void install(CommandLine cl) {
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_DESCRIPTION, new HelpReflow());
        for (CommandLine sub : cl.getSubcommands().values()) {
            install(sub);
        }
    }

    @Override
    public String render(Help help) {
        String[] lines = help.commandSpec().usageMessage().description();
        if (lines.length == 0) {
            return "";
        }
        int width = help.commandSpec().usageMessage().width();
        StringBuilder out = new StringBuilder();
        StringBuilder paragraph = new StringBuilder();
        for (String raw : expand(lines)) {
            String line = raw.stripTrailing();
            boolean laidOut = line.startsWith(" ") || line.strip().contains("  ");
            if (line.isBlank() || laidOut) {
                flush(out, paragraph, width);
                laidOut(out, line, width);
            } else {
                paragraph.append(paragraph.length() == 0 ? "" : " ").append(line);
            }
        }
        flush(out, paragraph, width);
        return out.toString();
    }

    /** Description elements may hold several lines (picocli also splits on %n). */
    private static List<String> expand(String[] lines) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            for (String part : l.replace("%n", "\n").split("\n", -1)) {
                out.add(part);
            }
        }
        return out;
    }

    /** A line laid out by hand: kept, or when wider than the help, wrapped under its own indentation. */
    private static void laidOut(StringBuilder out, String line, int width) {
        if (line.length() <= width) {
            out.append(line).append(System.lineSeparator());
            return;
        }
        int indent = line.length() - line.stripLeading().length();
        String pad = " ".repeat(Math.min(indent, width / 2));
        for (String w : Table.wrap(line.strip(), Math.max(20, width - pad.length()))) {
            out.append(pad).append(w).append(System.lineSeparator());
        }
    }

    private static void flush(StringBuilder out, StringBuilder paragraph, int width) {
        if (paragraph.length() == 0) {
            return;
        }
        for (String w : Table.wrap(paragraph.toString(), width)) {
            out.append(w).append(System.lineSeparator());
        }
        paragraph.setLength(0);
    }
}
