package io.mtagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The import graph of the agent's packages, read by the JDK's {@code jdeps} from the compiled classes: the
 * packages that depend on each other in a circle (strongly connected components of more than one package) may only
 * be the ones listed in {@link #KNOWN}, which are waiting to be broken. A new circle fails this test (with the
 * edges that make it), and so does a listed one that has been broken, so the list only ever shrinks.
 */
class PackageCyclesTest {
    private static final String ROOT = "io.mtagent.agent";

    /**
     * The circles not broken yet (the package order the code is moving to: log, ingest, apply, journal, disk, then
     * recovery / retention policy / resync, then server / control, then the agent). "" would be the root package.
     */
    private static final Set<Set<String>> KNOWN = Set.of(
            Set.of("disk", "resync", "retention")); // the journal and the rollback live in one package above disk

    @Test
    void noPackageCircleBeyondTheKnownOnes() {
        Map<String, Set<String>> edges = packageEdges();
        assertThat(edges).as("jdeps found the agent's packages").containsKeys("storage", "disk", "control");
        Set<Set<String>> circles = stronglyConnected(edges).stream().filter(c -> c.size() > 1)
                .collect(Collectors.toSet());
        assertThat(circles).as("package circles (edges: %s)", edges).isEqualTo(KNOWN);
    }

    /** Package → packages it imports, inside {@link #ROOT}, named relative to it. */
    private static Map<String, Set<String>> packageEdges() {
        Path classes = Path.of("target", "classes");
        assertThat(Files.isDirectory(classes)).as("compiled classes in %s", classes.toAbsolutePath()).isTrue();
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() ->
                new AssertionError("the JDK's jdeps tool is missing (a JRE instead of a JDK?)"));
        StringWriter out = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "-verbose:package",
                "-filter:none", "-e", ROOT.replace(".", "\\.") + ".*", classes.toString());
        assertThat(rc).as("jdeps: %s", out).isZero();
        Map<String, Set<String>> edges = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("->") && f[0].startsWith(ROOT) && f[2].startsWith(ROOT)) {
                String from = relative(f[0]);
                String to = relative(f[2]);
                edges.computeIfAbsent(from, k -> new TreeSet<>());
                if (!from.equals(to)) {
                    edges.get(from).add(to);
                }
            }
        }
        return edges;
    }

    private static String relative(String pkg) {
        return pkg.equals(ROOT) ? "" : pkg.substring(ROOT.length() + 1);
    }

    /** Tarjan's strongly connected components. */
    private static List<Set<String>> stronglyConnected(Map<String, Set<String>> edges) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> out = new ArrayList<>();
        for (String v : edges.keySet()) {
            if (!index.containsKey(v)) {
                visit(v, edges, index, low, stack, onStack, out);
            }
        }
        return out;
    }

    private static void visit(String v, Map<String, Set<String>> edges, Map<String, Integer> index,
                              Map<String, Integer> low, Deque<String> stack, Set<String> onStack,
                              List<Set<String>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : edges.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                visit(w, edges, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> component = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            out.add(component);
        }
    }
}
