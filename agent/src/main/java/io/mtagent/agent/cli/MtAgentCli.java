package io.mtagent.agent.cli;

public final class MtAgentCli {
    public static void main(String[] args) {
    }
}
