package io.mtagent.agent.config;

/**
 * One raw {@code name=value} pair and where it came from, for error messages.
 *
 * @param name   the setting's full name, e.g. {@code disk.d0.path}
 * @param value  the text as written, trimmed
 * @param origin e.g. {@code /etc/mtagent/mtagent.properties line 12} or {@code command line}
 */
public record Setting(String name, String value, String origin) {
}
