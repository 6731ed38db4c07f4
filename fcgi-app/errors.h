/* errors.h — the one place that maps a gateway error to its HTTP status, OpenAI-style type and
 * code, and writes the JSON body {"error":{"message","type","code"}}. */
#ifndef GW_ERRORS_H
#define GW_ERRORS_H

#include "request.h"

typedef enum {
    GW_E_MISSING_KEY,        /* 401 */
    GW_E_INVALID_KEY,        /* 401: malformed or unknown */
    GW_E_REVOKED_KEY,        /* 401 */
    GW_E_EXPIRED_KEY,        /* 401 */
    GW_E_CONFLICTING_KEYS,   /* 400: Authorization and x-api-key disagree */
    GW_E_INVALID_JSON,       /* 400 */
    GW_E_INVALID_REQUEST,    /* 400 */
    GW_E_MODEL_REQUIRED,     /* 400 */
    GW_E_MODEL_NOT_ALLOWED,  /* 403 */
    GW_E_POLICY_VIOLATION,   /* 403 */
    GW_E_BUDGET_UNPRICED,    /* 403: a budget applies but the model has no price */
    GW_E_RATE_LIMITED,       /* 429 */
    GW_E_BUDGET_EXCEEDED,    /* 429 */
    GW_E_NOT_FOUND,          /* 404 */
    GW_E_METHOD,             /* 405 */
    GW_E_TOO_LARGE,          /* 413 */
    GW_E_TOO_MANY_HEADERS,   /* 431 */
    GW_E_INTERNAL,           /* 500 */
    GW_E_UPSTREAM_UNREACHABLE, /* 502 */
    GW_E_UPSTREAM_BAD_RESPONSE,/* 502 */
    GW_E_UNAVAILABLE,        /* 503: database locked or full, fail closed */
    GW_E_UPSTREAM_TIMEOUT,   /* 504 */
    GW_E__COUNT
} GwErrorKind;

int gw_error_status(GwErrorKind kind);
const char *gw_error_code(GwErrorKind kind);
const char *gw_error_type(GwErrorKind kind);

/* The JSON body for kind with message (newly allocated, caller frees). */
char *gw_error_json(GwErrorKind kind, const char *message);

#endif
