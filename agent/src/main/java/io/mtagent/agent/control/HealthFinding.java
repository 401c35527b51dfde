package io.mtagent.agent.control;

/** One failing health rule: its stable code and name, severity, a message with the numbers, the disk if any. */
public record HealthFinding(String code, String rule, String severity, String message, String disk) {
    static HealthFinding of(HealthRule rule, String message, String disk) {
        return new HealthFinding(rule.code(), rule.name(), rule.severity().label(), message, disk);
    }
}
