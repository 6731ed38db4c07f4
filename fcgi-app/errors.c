/* errors.c — error kinds → HTTP status, OpenAI-style type/code, JSON body. */
#include "config.h"
#include "errors.h"

#include <jansson.h>

static const struct {
    int status;
    const char *type;
    const char *code;
} kinds[GW_E__COUNT] = {
    [GW_E_MISSING_KEY]          = { 401, "invalid_request_error", "missing_api_key" },
    [GW_E_INVALID_KEY]          = { 401, "invalid_request_error", "invalid_api_key" },
    [GW_E_REVOKED_KEY]          = { 401, "invalid_request_error", "revoked_api_key" },
    [GW_E_EXPIRED_KEY]          = { 401, "invalid_request_error", "expired_api_key" },
    [GW_E_CONFLICTING_KEYS]     = { 400, "invalid_request_error", "conflicting_api_keys" },
    [GW_E_INVALID_JSON]         = { 400, "invalid_request_error", "invalid_json" },
    [GW_E_INVALID_REQUEST]      = { 400, "invalid_request_error", "invalid_request" },
    [GW_E_MODEL_REQUIRED]       = { 400, "invalid_request_error", "model_required" },
    [GW_E_MODEL_NOT_ALLOWED]    = { 403, "permission_error", "model_not_allowed" },
    [GW_E_POLICY_VIOLATION]     = { 403, "permission_error", "policy_violation" },
    [GW_E_BUDGET_UNPRICED]      = { 403, "permission_error", "budget_unpriced_model" },
    [GW_E_RATE_LIMITED]         = { 429, "rate_limit_error", "rate_limit_exceeded" },
    [GW_E_BUDGET_EXCEEDED]      = { 429, "insufficient_quota", "budget_exceeded" },
    [GW_E_NOT_FOUND]            = { 404, "invalid_request_error", "not_found" },
    [GW_E_METHOD]               = { 405, "invalid_request_error", "method_not_allowed" },
    [GW_E_TOO_LARGE]            = { 413, "invalid_request_error", "request_too_large" },
    [GW_E_TOO_MANY_HEADERS]     = { 431, "invalid_request_error", "too_many_headers" },
    [GW_E_INTERNAL]             = { 500, "api_error", "internal_error" },
    [GW_E_UPSTREAM_UNREACHABLE] = { 502, "api_error", "upstream_unreachable" },
    [GW_E_UPSTREAM_BAD_RESPONSE]= { 502, "api_error", "upstream_bad_response" },
    [GW_E_UNAVAILABLE]          = { 503, "api_error", "service_unavailable" },
    [GW_E_UPSTREAM_TIMEOUT]     = { 504, "api_error", "upstream_timeout" },
};

int gw_error_status(GwErrorKind kind)
{
    return kinds[kind].status;
}

const char *gw_error_code(GwErrorKind kind)
{
    return kinds[kind].code;
}

const char *gw_error_type(GwErrorKind kind)
{
    return kinds[kind].type;
}

char *gw_error_json(GwErrorKind kind, const char *message)
{
    json_t *err = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", message,
                            "type", kinds[kind].type, "code", kinds[kind].code);
    if (err == NULL) /* message was not valid UTF-8: never happens with our own messages */
        err = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", "Request failed",
                        "type", kinds[kind].type, "code", kinds[kind].code);
    char *s = json_dumps(err, JSON_COMPACT);
    json_decref(err);
    char *out = g_strdup(s);
    free(s);
    return out;
}
