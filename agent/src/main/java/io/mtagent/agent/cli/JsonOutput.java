package io.mtagent.agent.cli;

import java.io.PrintStream;
import picocli.CommandLine.Option;

/**
 * The {@code --json} switch of a command that prints data: with it, the command's result is one JSON document on
 * standard output ({@link CliJson}, with its format version) and its text lines go to standard error, so a script
 * reads the document alone. The exit code is the same either way.
 */
final class JsonOutput {
    @Option(names = "--json", description = "Print the result as one JSON document (with its format version);"
            + " messages go to standard error.")
    boolean json;

    /** Where the command's text lines go: standard output, or standard error under {@code --json}. */
    PrintStream text() {
        return json ? System.err : System.out;
    }

    /** Prints {@code document} under {@code --json}; does nothing otherwise. */
    void document(Object document) {
        if (json) {
            CliJson.print(System.out, document);
        }
    }
}
