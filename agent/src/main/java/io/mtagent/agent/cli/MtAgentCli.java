package io.mtagent.agent.cli;

import io.mtagent.agent.config.BuildInfo;
import io.mtagent.agent.recovery.TerminalLine;
import java.util.logging.Level;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code mtagent} command: the daemon and the operator's tools. */
@Command(name = "mtagent", mixinStandardHelpOptions = true, versionProvider = MtAgentCli.Version.class,
        description = {
            "mtagent is the master target of a disaster-recovery replication system: it receives change-block",
            "streams from process servers over TLS (port 9443), makes every write durable in a per-disk ingest",
            "log before acknowledging it, and applies the writes to the target disks.",
            "",
            "Start here:  mtagent demo --seconds 20     (a self-checking demo, nothing to set up)",
            "             mtagent run                   (the daemon; embedded default in ./mtagent-data)"},
        subcommands = {RunCommand.class, DemoCommand.class, CertCommand.class, PassphraseCommand.class,
            VerifyCommand.class, StatusCommand.class, DisksCommand.class, ReplicasCommand.class, ExportCommand.class,
            ServiceCommand.class, RetentionCommand.class, PointsCommand.class, RecoverCommand.class, CommitCommand.class,
            NbdCommand.class, TestFailoverCommand.class, DiskCommand.class, JobsCommand.class, SendCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class})
public final class MtAgentCli {

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns the exit code (tests call this in-process). */
    public static int execute(String... args) {
        LogSetup.install(Level.INFO);
        // Help fits the terminal ($COLUMNS, else 80; picocli wraps descriptions at word boundaries); wide
        // terminals get at most 160 columns, which keeps the option descriptions readable.
        return commandLine(Math.min(160, TerminalLine.columns())).execute(args);
    }

    /** The command line as {@link #execute} runs it, its help laid out for {@code helpWidth} columns. */
    static CommandLine commandLine(int helpWidth) {
        CommandLine cl = new CommandLine(new MtAgentCli());
        cl.setUsageHelpWidth(helpWidth);
        HelpReflow.install(cl);
        cl.setExecutionExceptionHandler(new OperatorErrors());
        return cl;
    }

    /** The version and git commit the build stamped into the jar ({@link BuildInfo}), and the Java runtime. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {BuildInfo.current().describe()};
        }
    }
}
