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
 * The import graph of the agent's packages, read by the JDK's {@code jdeps} from the compiled classes, must follow
 * the pipeline: every package imports only packages below it in {@link #ORDER} (and the shared leaves in
 * {@link #SHARED}), which also means no package circle. A wrong import fails with the classes that make it.
 */
class PackageCyclesTest {
    private static final String ROOT = "io.mtagent.agent";

    /**
     * The agent's packages bottom to top, the order data flows through the daemon: the log layer, the ingest log,
     * the applier that moves its records to the target, the retention journal, the resync markers and apply stage, one replicated disk; then what
     * works on disks (retention policy and rollback, export/NBD/test failover), the network front ends, the tools
     * and the service wrapper; "" is the root package ({@code Agent}), which the command line and the service
     * start. A package may import only packages that come before it.
     */
    private static final List<String> ORDER = List.of(
            "log", "ingest", "apply", "journal", "resync", "disk",
            "retention", "recovery", "server", "control", "",
            "send", "bench", "sim", "service", "cli");

    /** Leaves any package may import; they import nothing else of the agent. */
    private static final Set<String> SHARED = Set.of("config", "security");

    @Test
    void noPackageCircle() {
        Map<String, Set<String>> edges = packageEdges(classEdges());
        assertThat(edges).as("jdeps found the agent's packages").containsKeys("ingest", "disk", "control");
        Set<Set<String>> circles = stronglyConnected(edges).stream().filter(c -> c.size() > 1)
                .collect(Collectors.toSet());
        assertThat(circles).as("package circles (edges: %s)", edges).isEmpty();
    }

    @Test
    void everyImportPointsDownThePipeline() {
        Map<String, Set<String>> classEdges = classEdges();
        Set<String> unplaced = new TreeSet<>(packageEdges(classEdges).keySet());
        unplaced.removeAll(ORDER);
        unplaced.removeAll(SHARED);
        assertThat(unplaced).as("packages missing from ORDER or SHARED in %s: place each at its level",
                PackageCyclesTest.class.getSimpleName()).isEmpty();
        assertThat(upwardImports(classEdges)).as("imports that point up the pipeline (bottom to top: %s; shared"
                + " leaves: %s); move the class to the level it belongs to, or pass what it needs down as an"
                + " interface", ORDER.stream().map(PackageCyclesTest::label).collect(Collectors.joining(" < ")),
                SHARED).isEmpty();
    }

    /**
     * "from -> to (class -> class, ...)" for every package edge that breaks the order: a package importing one at
     * its level or above, or a shared leaf importing anything but another leaf.
     */
    static List<String> upwardImports(Map<String, Set<String>> classEdges) {
        Map<String, Set<String>> offending = new TreeMap<>();
        classEdges.forEach((from, tos) -> {
            for (String to : tos) {
                String a = packageOf(from);
                String b = packageOf(to);
                if (!a.equals(b) && !allowed(a, b)) {
                    offending.computeIfAbsent(label(a) + " -> " + label(b), k -> new TreeSet<>())
                            .add(simpleName(from) + " -> " + simpleName(to));
                }
            }
        });
        List<String> out = new ArrayList<>();
        offending.forEach((edge, classes) -> out.add(edge + " (" + String.join(", ", classes) + ")"));
        return out;
    }

    private static boolean allowed(String from, String to) {
        if (SHARED.contains(to)) {
            return true;
        }
        if (SHARED.contains(from)) {
            return false;
        }
        int a = ORDER.indexOf(from);
        int b = ORDER.indexOf(to);
        return a >= 0 && b >= 0 && b < a;
    }

    /** Class → classes it uses, inside {@link #ROOT} (fully qualified, nested classes folded into their outer). */
    private static Map<String, Set<String>> classEdges() {
        Path classes = Path.of("target", "classes");
        assertThat(Files.isDirectory(classes)).as("compiled classes in %s", classes.toAbsolutePath()).isTrue();
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() ->
                new AssertionError("the JDK's jdeps tool is missing (a JRE instead of a JDK?)"));
        StringWriter out = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "-verbose:class",
                "-filter:none", "-e", ROOT.replace(".", "\\.") + ".*", classes.toString());
        assertThat(rc).as("jdeps: %s", out).isZero();
        Map<String, Set<String>> edges = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("->") && f[0].startsWith(ROOT + ".") && f[2].startsWith(ROOT + ".")) {
                edges.computeIfAbsent(outer(f[0]), k -> new TreeSet<>()).add(outer(f[2]));
            }
        }
        return edges;
    }

    /** Package → packages it imports, named relative to {@link #ROOT} ("" for the root package itself). */
    private static Map<String, Set<String>> packageEdges(Map<String, Set<String>> classEdges) {
        Map<String, Set<String>> edges = new TreeMap<>();
        classEdges.forEach((from, tos) -> {
            String a = packageOf(from);
            Set<String> targets = edges.computeIfAbsent(a, k -> new TreeSet<>());
            for (String to : tos) {
                String b = packageOf(to);
                if (!a.equals(b)) {
                    targets.add(b);
                }
            }
        });
        return edges;
    }

    private static String outer(String className) {
        int dollar = className.indexOf('$');
        return dollar < 0 ? className : className.substring(0, dollar);
    }

    private static String packageOf(String className) {
        String pkg = className.substring(0, className.lastIndexOf('.'));
        return pkg.equals(ROOT) ? "" : pkg.substring(ROOT.length() + 1);
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    private static String label(String pkg) {
        return pkg.isEmpty() ? "(root)" : pkg;
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
