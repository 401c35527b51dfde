package io.mtagent.agent.config;

import java.util.List;

/**
 * The configuration cannot be used. The message lists every problem found, one per line, each naming the setting,
 * where it came from (file and line, or the command line), the value and what is allowed, so an operator can fix
 * them all in one pass instead of one per restart.
 */
public final class ConfigException extends RuntimeException {
    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(problems.size() == 1 ? problems.get(0)
                : problems.size() + " configuration problems:\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    public ConfigException(String problem, Throwable cause) {
        super(problem, cause);
        this.problems = List.of(problem);
    }

    /** Each problem on its own; never empty. */
    public List<String> problems() {
        return problems;
    }
}
