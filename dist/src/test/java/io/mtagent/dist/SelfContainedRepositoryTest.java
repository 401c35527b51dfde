package io.mtagent.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The repository explains itself: no tracked file points at a document outside it (the briefing files a clone or
 * the release archive does not have). Decisions are written down in docs/ARCHITECTURE.md or next to the code.
 */
class SelfContainedRepositoryTest {
    /** Spelled in parts so that this file does not match itself. */
    private static final List<String> OUTSIDE = List.of("../" + "shared", "DESIGN" + ".md", "DEPENDENCIES" + ".md",
            "STYLE" + ".md");
    private static final Set<String> SKIPPED_DIRECTORIES = Set.of(".git", "target", "node_modules");

    @Test
    void noFileRefersToADocumentOutsideTheRepository() throws IOException {
        Path root = Path.of(System.getProperty("user.dir")).resolve("..").normalize();
        assertThat(root.resolve("pom.xml")).as("the repository root").exists();
        assertThat(root.resolve("docs/ARCHITECTURE.md")).as("the architecture document is in the repository").exists();
        List<String> found = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(p -> !skipped(root, p)).filter(Files::isRegularFile).toList();
        }
        for (Path f : files) {
            String text;
            try {
                text = Files.readString(f, StandardCharsets.UTF_8);
            } catch (MalformedInputException binary) {
                continue;
            }
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                for (String ref : OUTSIDE) {
                    if (lines[i].contains(ref)) {
                        found.add(root.relativize(f) + ":" + (i + 1) + ": " + ref);
                    }
                }
            }
        }
        assertThat(found).as("references to documents outside the repository: point into docs/ARCHITECTURE.md or"
                + " write the decision down where it is used").isEmpty();
    }

    private static boolean skipped(Path root, Path p) {
        for (Path part : root.relativize(p)) {
            if (SKIPPED_DIRECTORIES.contains(part.toString())) {
                return true;
            }
        }
        return false;
    }
}
