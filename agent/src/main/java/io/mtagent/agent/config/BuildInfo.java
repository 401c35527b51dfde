package io.mtagent.agent.config;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What build this is: the version and the git commit the build stamped into the jar
 * ({@code io/mtagent/agent/build.properties}, filtered by Maven; agent/pom.xml says how). A build without git
 * (from a source archive) or a run from unfiltered classes reports {@value #UNKNOWN}. Shown by
 * {@code mtagent --version}, {@code /status} and {@code mtagent_build_info}.
 *
 * @param version  the Maven project version, e.g. {@code 0.1.0-SNAPSHOT}
 * @param revision the full git commit id the jar was built from
 */
public record BuildInfo(String version, String revision) {
    public static final String UNKNOWN = "unknown";
    private static final BuildInfo CURRENT = load();

    /** This jar's build. */
    public static BuildInfo current() {
        return CURRENT;
    }

    /** The Java runtime the agent runs on, e.g. {@code 17.0.15}. */
    public static String java() {
        return System.getProperty("java.version", UNKNOWN);
    }

    /** One line for {@code --version} and logs: {@code mtagent 0.1.0 (commit 1a2b3c…, Java 17.0.15)}. */
    public String describe() {
        return "mtagent " + version + " (commit " + revision + ", Java " + java() + ")";
    }

    private static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/io/mtagent/agent/build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // unreadable: reported as unknown
        }
        return new BuildInfo(filled(p.getProperty("version")), filled(p.getProperty("revision")));
    }

    /** The value, or {@value #UNKNOWN} when missing or left unfiltered ({@code ${...}}: no git at build time). */
    private static String filled(String value) {
        return value == null || value.isBlank() || value.startsWith("${") ? UNKNOWN : value.trim();
    }
}
