package io.mtagent.agent.log;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A bad record <em>before</em> the durable checkpoint: real corruption, not a torn tail. The agent refuses to
 * start on it; the message names the file, the offset and the repair command.
 */
public final class CorruptLogException extends IOException {
    private final Path file;
    private final long offset;

    public CorruptLogException(Path file, long offset, String what) {
        super("log file " + file + " is corrupt at byte " + offset + " (" + what + "), before its durable checkpoint;"
                + " this is not a torn write. Stop the agent, copy " + file.getParent()
                + ", then run 'mtagent verify --repair'");
        this.file = file;
        this.offset = offset;
    }

    public Path file() { return file; }
    public long offset() { return offset; }
}
