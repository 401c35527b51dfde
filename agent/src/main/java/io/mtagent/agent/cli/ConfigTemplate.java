package io.mtagent.agent.cli;

import io.mtagent.agent.config.AgentConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Generates the distribution's {@code conf/mtagent.conf} from {@link AgentConfig#renderHelp()} at build time, so
 * it lists every setting with its default and meaning and can never drift from the key table: each setting is
 * a commented block (meaning, default, {@code #key=default}); uncomment to change. Run by the dist module's
 * build ({@code main(outputFile)}); the dist tests check that every key is in the shipped file.
 */
public final class ConfigTemplate {
    /**
     * Settings the installed file sets (uncommented), so a standard install keeps a retention journal and exports
     * where the unit may write: the paths match {@code systemd/mtagent.service}'s {@code ReadWritePaths=} and
     * {@code systemd/mtagent.tmpfiles} (the dist tests check it). The retention path is a mount point for a
     * dedicated volume; the agent refuses to start, naming {@code retention.dir}, until it is usable.
     */
    static final Map<String, String> INSTALLED = Map.of(
            "retention.dir", "/var/lib/mtagent-retention",
            "export.dirs", "/var/lib/mtagent-exports");

    private ConfigTemplate() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, render(), StandardCharsets.UTF_8);
    }

    /** The commented configuration file. */
    public static String render() {
        StringBuilder out = new StringBuilder();
        out.append("# mtagent configuration (java.util.Properties), generated from the agent's settings table.\n")
                .append("# Installed as /etc/mtagent/mtagent.properties ('mtagent service install' copies it there).\n")
                .append("# Every setting is listed with its default; uncomment a line to change it. Unknown keys are\n")
                .append("# refused at start with the closest known key as a hint. 'mtagent run --help-config' shows\n")
                .append("# the same text; '--set key=value' overrides a setting on the command line.\n");
        List<String> lines = List.of(AgentConfig.renderHelp().split("\n"));
        int i = 0;
        while (i < lines.size()) {
            String line = lines.get(i++);
            if (line.isBlank()) {
                continue;
            }
            int eq = line.indexOf(" = ");
            if (line.startsWith(" ") || eq < 0) {
                out.append("\n# ").append(line.strip()).append('\n'); // a group's description
                continue;
            }
            String key = line.substring(0, eq);
            String def = line.substring(eq + 3).strip();
            List<String> doc = new ArrayList<>();
            while (i < lines.size() && lines.get(i).startsWith(" ")) {
                doc.add(lines.get(i++).strip());
            }
            out.append('\n');
            doc.forEach(d -> out.append("# ").append(d).append('\n'));
            boolean literal = !def.startsWith("(") && !def.contains(" ") && !def.contains("<");
            if (!literal) {
                out.append("# Default: ").append(def).append('\n');
            }
            String installed = INSTALLED.get(key);
            if (installed != null) {
                out.append("# Set for the installed service (the unit's ReadWritePaths= lists it):\n")
                        .append(key).append('=').append(installed).append('\n');
                continue;
            }
            out.append('#').append(key).append('=').append(literal ? def : "").append('\n');
        }
        out.append("\n# Example target disks (address raw disks by stable id, never by /dev/sdX):\n")
                .append("#disk.db01.id=6000c29a1b2c3d4e5f60718293a4b5c6\n")
                .append("#disk.db01.path=/dev/disk/by-id/wwn-0x6000c29a1b2c3d4e5f60718293a4b5c6\n")
                .append("#disk.scratch.path=/srv/targets/scratch.img\n")
                .append("#disk.scratch.size=64GiB\n");
        return out.toString();
    }
}
