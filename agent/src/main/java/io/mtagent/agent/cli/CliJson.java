package io.mtagent.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;

/**
 * The {@code --json} output of every command: one JSON object on standard output whose first field is
 * {@code "version"}, the version of these documents' format ({@value #FORMAT_VERSION}; raised only when a field
 * changes meaning or goes away, never for an added field), so a script can check what it parses. The rest is the
 * command's document (for the control-API commands the agent's answer as it is). Progress and messages go to
 * standard error.
 */
final class CliJson {
    /** The format version of the CLI's JSON documents. */
    static final int FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private CliJson() {
    }

    /** Prints {@code document} (an object, a map or a record) with the version first. */
    static void print(PrintStream out, Object document) {
        JsonNode body = JSON.valueToTree(document);
        ObjectNode o = JSON.createObjectNode();
        o.put("version", FORMAT_VERSION);
        if (body.isObject()) {
            body.fields().forEachRemaining(e -> {
                if (!e.getKey().equals("version")) {
                    o.set(e.getKey(), e.getValue());
                }
            });
        } else {
            o.set("data", body);
        }
        try {
            out.println(JSON.writeValueAsString(o));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render the JSON output", e);
        }
    }
}
