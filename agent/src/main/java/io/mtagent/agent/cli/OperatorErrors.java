package io.mtagent.agent.cli;

import io.mtagent.agent.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * How a command's exception reaches the operator. An operator's mistake or the state of the machine (a bad
 * setting, a missing file, a refused request, a port in use) is one line, {@code mtagent: <reason and fix>}, and
 * exit code 2, never a stack trace: those exceptions carry their fix in the message. Anything else is a defect of
 * mtagent: its stack trace is printed (for the bug report) and the exit code is 2 too, because 1 means "done, but
 * a warning" (not consistent, health warning). {@code MTAGENT_DEBUG=1} prints the trace in every case.
 */
final class OperatorErrors implements IExecutionExceptionHandler {
    /** Exit codes, as the README documents them. */
    static final int OK = 0;
    static final int WARNING = 1;
    static final int ERROR = 2;
    /** {@code status} only: the agent's state is unknown (unreachable), as Nagios' UNKNOWN. */
    static final int UNKNOWN = 3;

    @Override
    public int handleExecutionException(Exception ex, CommandLine line, ParseResult parsed) {
        if ("1".equals(System.getenv("MTAGENT_DEBUG"))) {
            ex.printStackTrace(line.getErr());
        }
        String message = operatorMessage(ex);
        if (message == null) {
            line.getErr().println("mtagent: internal error (a defect of mtagent; please report it with this trace):");
            ex.printStackTrace(line.getErr());
            return ERROR;
        }
        line.getErr().println("mtagent: " + message);
        return ERROR;
    }

    /** The one line for an operator's mistake, or null for a defect. */
    static String operatorMessage(Throwable ex) {
        if (ex instanceof UncheckedIOException u) {
            return operatorMessage(u.getCause());
        }
        if (ex instanceof NoSuchFileException e) {
            return "no such file: " + e.getFile() + (e.getReason() == null ? "" : " (" + e.getReason() + ")");
        }
        if (ex instanceof AccessDeniedException e) {
            return "permission denied: " + e.getFile() + " (run as the agent's user or root)";
        }
        if (ex instanceof FileAlreadyExistsException e) {
            return "already exists: " + e.getFile();
        }
        if (ex instanceof NotDirectoryException e) {
            return "not a directory: " + e.getFile();
        }
        if (ex instanceof ConfigException || ex instanceof IllegalStateException
                || ex instanceof IllegalArgumentException || ex instanceof IOException) {
            return ex.getMessage();
        }
        return null;
    }
}
