package io.mtagent.agent.control;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/** A control-API answer: a status and the JSON document of its body. */
record ApiResult(HttpResponseStatus status, Object document) {
    static ApiResult ok(Object document) {
        return new ApiResult(HttpResponseStatus.OK, document);
    }

    static ApiResult error(HttpResponseStatus status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        return new ApiResult(status, m);
    }
}
