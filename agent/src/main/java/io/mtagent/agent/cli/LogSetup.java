package io.mtagent.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.logging.ConsoleHandler;
import java.util.logging.FileHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The agent's log on standard error, through java.util.logging (no logging library: the agent logs little, and
 * journald, the Windows service's file and a terminal are its only readers). Three formats:
 * <ul>
 *   <li>text on a terminal or in a file: {@code 2026-11-23T10:42:17.123Z INFO Agent: message};</li>
 *   <li>text under systemd ({@code JOURNAL_STREAM} set: stderr goes to the journal): {@code <6>Agent: message},
 *       the sd-daemon(3) priority prefix (3 error, 4 warning, 6 info, 7 debug) so {@code journalctl -p warning}
 *       filters, and no time stamp (the journal has one);</li>
 *   <li>JSON ({@code --log-format json}): one object per line, {@code {"time", "level", "logger", "message",
 *       "thrown"}}, for log shippers.</li>
 * </ul>
 * The Windows service logs to a rotating file as well ({@link #addRotatingFile}).
 * The level is {@code log.level} (error, warning, info, debug), changeable while the agent runs.
 * Thread-safe as java.util.logging is.
 */
final class LogSetup {
    /** How lines are written. */
    enum Format {
        TEXT, JSON;

        static Format parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "text" -> TEXT;
                case "json" -> JSON;
                default -> throw new IllegalArgumentException("--log-format is text or json, not '" + s + "'");
            };
        }
    }

    private LogSetup() {
    }

    static void install(Level level) {
        install(level, Format.TEXT);
    }

    static synchronized void install(Level level, Format format) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(Level.ALL); // the root logger's level decides
        boolean journal = System.getenv("JOURNAL_STREAM") != null;
        handler.setFormatter(format == Format.JSON ? new JsonLines() : journal ? new JournalText() : new PlainText());
        root.addHandler(handler);
        setLevel(level);
    }

    /** Size of one rotating log file; {@link #ROTATING_FILES} of them are kept. */
    static final int ROTATING_FILE_BYTES = 10 << 20;
    static final int ROTATING_FILES = 5;

    /**
     * Adds a rotating log file (the Windows service has no console: its standard error goes nowhere):
     * {@code dir/mtagent.0.log} is the newest, rotated at {@code fileBytes} into {@code .1} … {@code .N-1}, the
     * oldest dropped. Text format with time stamps. Files are created with the agent's private umask.
     *
     * @return the newest file
     */
    static synchronized Path addRotatingFile(Path dir, int fileBytes, int files) throws IOException {
        Files.createDirectories(dir);
        FileHandler file = new FileHandler(dir.resolve("mtagent.%g.log").toString(), fileBytes, files, true);
        file.setEncoding(StandardCharsets.UTF_8.name());
        file.setLevel(Level.ALL);
        file.setFormatter(new PlainText());
        Logger.getLogger("").addHandler(file);
        return dir.resolve("mtagent.0.log");
    }

    /** Changes the level of every logger below the root (the handlers pass everything through). */
    static synchronized void setLevel(Level level) {
        Logger.getLogger("").setLevel(level);
        // Netty's own chatter stays at warnings unless debugging.
        Logger.getLogger("io.netty").setLevel(level.intValue() <= Level.FINE.intValue() ? level : Level.WARNING);
    }

    /** {@code log.level}'s names to java.util.logging levels. */
    static Level level(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "error" -> Level.SEVERE;
            case "warning" -> Level.WARNING;
            case "info" -> Level.INFO;
            case "debug" -> Level.FINE;
            default -> throw new IllegalArgumentException("log.level is error, warning, info or debug, not '"
                    + name + "'");
        };
    }

    static String shortName(LogRecord r) {
        String name = r.getLoggerName() == null ? "" : r.getLoggerName();
        return name.substring(name.lastIndexOf('.') + 1);
    }

    static String trace(Throwable t) {
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        return sw.toString();
    }

    /** The sd-daemon(3) priority of a level: 3 err, 4 warning, 6 info, 7 debug. */
    static int priority(Level level) {
        int v = level.intValue();
        return v >= Level.SEVERE.intValue() ? 3 : v >= Level.WARNING.intValue() ? 4 : v >= Level.INFO.intValue() ? 6 : 7;
    }

    /** {@code time LEVEL Logger: message}. */
    private static final class PlainText extends Formatter {
        @Override
        public String format(LogRecord r) {
            StringBuilder sb = new StringBuilder(128).append(Instant.ofEpochMilli(r.getMillis())).append(' ')
                    .append(r.getLevel().getName()).append(' ').append(shortName(r)).append(": ")
                    .append(formatMessage(r)).append(System.lineSeparator());
            if (r.getThrown() != null) {
                sb.append(trace(r.getThrown()));
            }
            return sb.toString();
        }
    }

    /** {@code <P>Logger: message}; every line of a stack trace carries the prefix, so it stays one priority. */
    private static final class JournalText extends Formatter {
        @Override
        public String format(LogRecord r) {
            String prefix = "<" + priority(r.getLevel()) + ">";
            StringBuilder sb = new StringBuilder(128).append(prefix).append(shortName(r)).append(": ")
                    .append(formatMessage(r)).append('\n');
            if (r.getThrown() != null) {
                trace(r.getThrown()).lines().forEach(l -> sb.append(prefix).append(l).append('\n'));
            }
            return sb.toString();
        }
    }

    /** One JSON object per line (Jackson escapes the message). */
    private static final class JsonLines extends Formatter {
        private final ObjectMapper json = new ObjectMapper();

        @Override
        public String format(LogRecord r) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", Instant.ofEpochMilli(r.getMillis()).toString());
            m.put("level", r.getLevel().getName());
            m.put("logger", r.getLoggerName());
            m.put("message", formatMessage(r));
            if (r.getThrown() != null) {
                m.put("thrown", trace(r.getThrown()));
            }
            try {
                return json.writeValueAsString(m) + System.lineSeparator();
            } catch (JsonProcessingException e) {
                return "{\"level\":\"SEVERE\",\"message\":\"unprintable log record\"}" + System.lineSeparator();
            }
        }
    }
}
