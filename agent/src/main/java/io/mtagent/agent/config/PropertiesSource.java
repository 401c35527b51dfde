package io.mtagent.agent.config;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Reads a configuration file with {@link Properties#load(Reader)}, in UTF-8 (not the ISO-8859-1 of
 * {@code Properties.load(InputStream)}, so paths with non-Latin characters work as typed).
 *
 * <p>Two additions to plain {@code Properties}: a name given twice is an error instead of "the last one wins"
 * (a duplicate in a hand-edited file is nearly always a mistake), and each setting carries the line it was found
 * on for error messages. {@code Properties} does not report lines, so they are found by a light scan of the text
 * that understands comments, continuation lines and the three separators; it only labels messages and never
 * changes what is parsed.
 *
 * <p>As in every {@code .properties} file, a backslash is an escape character: write Windows paths with forward
 * slashes ({@code C:/mtagent/state}) or doubled backslashes.
 *
 * <p>Stateless and thread-safe.
 */
final class PropertiesSource {
    private PropertiesSource() {
    }

    /** The file's settings in file order, values trimmed. */
    static List<Setting> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new ConfigException("cannot read the configuration file " + file + ": it is not UTF-8 text", e);
        } catch (IOException e) {
            throw new ConfigException("cannot read the configuration file " + file + ": " + e, e);
        }
        Map<String, String> values = new LinkedHashMap<>();
        List<String> duplicates = new ArrayList<>();
        Properties properties = new Properties() {
            @Override
            public synchronized Object put(Object key, Object value) {
                if (values.putIfAbsent((String) key, (String) value) != null) {
                    duplicates.add((String) key);
                }
                return super.put(key, value);
            }
        };
        try {
            properties.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) { // IAE: a malformed \\uXXXX escape
            throw new ConfigException("cannot parse the configuration file " + file + ": " + e.getMessage(), e);
        }
        Map<String, List<Integer>> lines = keyLines(text);
        if (!duplicates.isEmpty()) {
            List<String> problems = new ArrayList<>();
            for (String name : duplicates) {
                problems.add("setting '" + name + "' is given more than once in " + file + " (lines "
                        + lines.getOrDefault(name, List.of()) + "); keep one");
            }
            throw new ConfigException(problems);
        }
        List<Setting> settings = new ArrayList<>();
        values.forEach((name, value) -> {
            List<Integer> at = lines.get(name);
            settings.add(new Setting(name, value.trim(), file + (at == null ? "" : " line " + at.get(0))));
        });
        return settings;
    }

    /** Line numbers (1-based) of each key's logical lines; a best-effort mirror of the Properties grammar. */
    static Map<String, List<Integer>> keyLines(String text) {
        Map<String, List<Integer>> result = new HashMap<>();
        String[] lines = text.split("\r\n|\r|\n", -1);
        boolean continuation = false;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            boolean startsLogicalLine = !continuation;
            continuation = endsWithOddBackslashes(line);
            String stripped = line.stripLeading();
            if (!startsLogicalLine || stripped.isEmpty() || stripped.startsWith("#") || stripped.startsWith("!")) {
                if (startsLogicalLine && (stripped.startsWith("#") || stripped.startsWith("!"))) {
                    continuation = false; // comment lines do not continue
                }
                continue;
            }
            StringBuilder key = new StringBuilder();
            for (int c = 0; c < stripped.length(); c++) {
                char ch = stripped.charAt(c);
                if (ch == '\\' && c + 1 < stripped.length()) {
                    key.append(stripped.charAt(++c));
                } else if (ch == '=' || ch == ':' || Character.isWhitespace(ch)) {
                    break;
                } else {
                    key.append(ch);
                }
            }
            result.computeIfAbsent(key.toString(), k -> new ArrayList<>()).add(i + 1);
        }
        return result;
    }

    private static boolean endsWithOddBackslashes(String line) {
        int count = 0;
        for (int i = line.length() - 1; i >= 0 && line.charAt(i) == '\\'; i--) {
            count++;
        }
        return count % 2 == 1;
    }
}
