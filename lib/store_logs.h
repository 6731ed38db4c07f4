/* store_logs.h — the admin's reads of request logs (SQL in store_logs.c): filtered keyset listing,
 * one row in full, sessions with paging and a session's paths. */
#ifndef GW_STORE_LOGS_H
#define GW_STORE_LOGS_H

#include <glib.h>
#include <jansson.h>
#include "status.h"
#include "store.h"

#define GW_LOG_SEARCH_MAX 200

/* A status filter: "200" (exact), "4xx" / "5xx" (class, 1xx…5xx), "error" (status ≥ 400 or
 * none recorded), "ok" (below 400). */
typedef struct {
    int lo, hi;                  /* inclusive */
    gboolean with_null;          /* rows without a status match too */
} GwStatusRange;
GwStatus gw_log_status_parse(const char *s, GwStatusRange *out, GError **err);  /* GW_EINVAL */

/* Filters of the Logs view; NULL / 0 fields do not filter. Strings are matched exactly. */
typedef struct {
    int limit;                   /* 1 … GW_LOG_SEARCH_MAX */
    gint64 before_id;            /* keyset cursor: rows with id < before_id (0 = newest) */
    gint64 from_ms, to_ms;       /* created_at in [from_ms, to_ms) */
    const char *virtual_key, *agent, *department;  /* names */
    const char *model, *provider;
    const char *status;          /* see gw_log_status_parse */
    const char *session_id;
    const char *cache_status;    /* "HIT" | "MISS" */
    const char *property_name;   /* rows having that property … */
    const char *property_value;  /* … with that value (NULL = any) */
} GwLogFilter;

/* Newest first (by id). *out = {"rows": [summary], "next_cursor": id or null}; a summary has id,
 * request_id, created_at, latency_ms, ttfb_ms, virtual_key, agent, department, provider, model,
 * method, path, status, error_code, prompt_tokens, completion_tokens, total_tokens, cost_nanos,
 * cost_usd, stream, session_id, session_path, cache_status, cache_saved_nanos, properties {} —
 * no bodies. next_cursor is the before_id of the next (older) page, null on the last one. */
GwStatus gw_store_logs_search_json(GwStore *st, const GwLogFilter *f, json_t **out, GError **err);

/* Everything about log row id (the request_logs.id): every column (flags as booleans,
 * request_headers as an object, the key, agent, department and provider key names, cost_usd,
 * cache_saved_usd), "attempts", "properties", "policy_result", "policy_decisions", and for a
 * stream with a stored response, "response_message" (gw_sse_message_assemble). GW_ENOTFOUND. */
GwStatus gw_store_log_detail_json(GwStore *st, gint64 id, json_t **out, GError **err);

/* Sessions, newest activity first, keyset paged by (last_at, session_id). */
typedef struct {
    int limit;                   /* 1 … GW_LOG_SEARCH_MAX */
    gint64 before_last_at;       /* cursor (0 = newest): sessions whose last request is older, */
    const char *before_session;  /* or as old with a larger session id */
    gint64 from_ms, to_ms;       /* sessions with a request in [from, to) (0 = open) */
    const char *session_id;      /* one session */
} GwSessionQuery;
/* *out = {"sessions": [{session_id, name, requests, errors, cost_nanos, cost_usd, prompt_tokens,
 * completion_tokens, total_tokens, first_at, last_at, duration_ms}], "next_cursor": {"last_at",
 * "session_id"} or null}. */
GwStatus gw_store_sessions_query_json(GwStore *st, const GwSessionQuery *q, json_t **out,
                                      GError **err);
/* [{path, requests, cost_nanos}] of one session by path (for gw_path_tree). */
GwStatus gw_store_session_paths_json(GwStore *st, const char *session_id, json_t **out,
                                     GError **err);

#endif
