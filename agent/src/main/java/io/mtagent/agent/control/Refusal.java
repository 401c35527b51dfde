package io.mtagent.agent.control;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A request refused before any work, with the status and the agent's message: thrown from deep inside a call's
 * checks and turned into its answer by {@link RecoveryApi#call}.
 */
final class Refusal extends RuntimeException {
    final HttpResponseStatus status;

    Refusal(HttpResponseStatus status, String message) {
        super(message);
        this.status = status;
    }
}
