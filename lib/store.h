/* store.h — every SQL statement of the product lives behind this interface (SQLite backend in
 * store.c; a PostgreSQL backend can implement the same functions). Owns schema migrations. */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <glib.h>
#include <jansson.h>
#include "status.h"

typedef struct GwStore GwStore;

/* Opens (creating if needed) the database at path with WAL, synchronous=NORMAL, foreign_keys=ON,
 * busy_timeout. One GwStore per thread: it is not shared between threads. */
GwStatus gw_store_open(const char *path, GwStore **out, GError **err);
void gw_store_close(GwStore *st);

/* WAL checkpoints. By default a connection checkpoints when a commit leaves the WAL above 1000
 * pages. A server with many connections turns that off on its request connections (each commit
 * would otherwise pay a checkpoint) and lets one background connection call
 * gw_store_maintain_wal after its writes: a passive checkpoint at most every 200 ms, and when the
 * WAL stays above 16 MiB (readers never let it restart: checkpoint starvation) a truncating one
 * (gw_store_wal_truncate) that waits briefly for readers. The WAL file is also cut to 64 MiB
 * whenever it restarts. */
void gw_store_set_autocheckpoint(GwStore *st, gboolean on);
void gw_store_maintain_wal(GwStore *st);
/* Size in bytes of the database's write-ahead log file (0 when there is none). */
gint64 gw_store_wal_bytes(GwStore *st);
/* Checkpoints the whole write-ahead log into the database, waits (busy_timeout) for readers to
 * leave it and truncates it to zero bytes. GW_EDB when it could not complete. */
GwStatus gw_store_wal_truncate(GwStore *st, GError **err);

/* One unit of work (a request) on this connection: between begin and end, the configuration is
 * read as of the first configuration read (virtual keys, targets, limits, budgets: the memo in
 * store_internal.h checks the configuration version once, not at every lookup). */
void gw_store_work_begin(GwStore *st);
void gw_store_work_end(GwStore *st);

/* Applies every embedded migration (schema/NNNN_*.sql) newer than the recorded version, each in
 * its own transaction, recording it in schema_migrations. Idempotent. */
GwStatus gw_store_migrate(GwStore *st, GError **err);
/* Highest applied migration number (0 for an empty database). */
GwStatus gw_store_schema_version(GwStore *st, int *version_out, GError **err);

/* ---- provider keys ---- */
typedef struct {
    gint64 id;
    char *name;
    char *provider;        /* "openai", "anthropic", "openai-compatible", "mock" */
    char *base_url;        /* NULL = the provider's default */
    char *api_version;     /* Azure OpenAI api-version, NULL for other kinds */
    GBytes *secret_enc;    /* nonce||ciphertext||tag, see crypto.h */
    char *secret_hint;     /* masked suffix for display, e.g. "…Ab12" */
    gint64 created_at;     /* Unix ms */
    gint64 rotated_at;     /* Unix ms, 0 = never */
    int vk_count;          /* virtual keys referring to it (filled by list) */
} GwProviderKey;
void gw_provider_key_free(GwProviderKey *pk);

GwStatus gw_store_provider_key_add(GwStore *st, const char *name, const char *provider,
                                   const char *base_url, const char *api_version,
                                   GBytes *secret_enc, const char *hint,
                                   gint64 *id_out, GError **err);              /* GW_EEXISTS */
GwStatus gw_store_provider_key_get(GwStore *st, const char *name, GwProviderKey **out,
                                   GError **err);                             /* GW_ENOTFOUND */
GwStatus gw_store_provider_key_get_by_id(GwStore *st, gint64 id, GwProviderKey **out,
                                         GError **err);
/* *out: GPtrArray of GwProviderKey* with free func set; caller unrefs. */
GwStatus gw_store_provider_key_list(GwStore *st, GPtrArray **out, GError **err);
GwStatus gw_store_provider_key_rotate(GwStore *st, const char *name, GBytes *secret_enc,
                                      const char *hint, GError **err);
/* Refused with GW_EINUSE (message names how many virtual keys, active and revoked) while any
 * virtual key refers to it: revoked keys keep their reference (FK RESTRICT). */
GwStatus gw_store_provider_key_delete(GwStore *st, const char *name, GError **err);

/* ---- virtual keys (agents and departments are created on first use by name) ---- */
typedef struct {
    const char *name;
    const char *token_hash;      /* hex SHA-256 of the full token */
    const char *token_prefix;    /* display prefix, e.g. "vk-AbCd1234" */
    const char *provider_key;    /* provider key name (must exist) */
    const char *allowed_models;  /* comma-separated list or NULL for any */
    const char *department;      /* NULL for none */
    const char *agent;           /* NULL for none */
    gint64 expires_at;           /* Unix ms, 0 = never */
} GwVkCreate;

typedef struct {
    gint64 id;
    char *name;
    char *token_hash;
    char *token_prefix;
    gint64 provider_key_id;
    char *provider_key_name;
    char **allowed_models;       /* NULL-terminated, NULL = any model */
    gint64 agent_id;             /* 0 = none */
    char *agent_name;
    gint64 department_id;        /* 0 = none */
    char *department_name;
    char *status;                /* "active" | "revoked" */
    gint64 expires_at;           /* Unix ms, 0 = never */
    gint64 created_at;
    gint64 last_used_at;         /* Unix ms of the newest log row, 0 = never (filled by list) */
} GwVirtualKey;
void gw_virtual_key_free(GwVirtualKey *vk);

GwStatus gw_store_vk_create(GwStore *st, const GwVkCreate *params, gint64 *id_out, GError **err);
/* Looks a key up by token hash (any status; the caller checks status and expiry). */
GwStatus gw_store_vk_find_by_hash(GwStore *st, const char *token_hash, GwVirtualKey **out,
                                  GError **err);                              /* GW_ENOTFOUND */
GwStatus gw_store_vk_list(GwStore *st, GPtrArray **out, GError **err);
GwStatus gw_store_vk_revoke(GwStore *st, const char *name, GError **err);    /* GW_ENOTFOUND */

/* ---- request logs ---- */
typedef struct {
    char request_id[37];         /* log id: client's UUID or a UUIDv7; not unique (see README) */
    char *client_request_id;     /* x-request-id when it was not a UUID, else NULL */
    gint64 created_at;           /* Unix ms, request start */
    gint64 latency_ms;           /* start → last byte sent */
    gint64 ttfb_ms;              /* start → first byte from upstream, -1 = none */
    gint64 virtual_key_id;       /* 0 = unauthenticated */
    gint64 agent_id;             /* 0 = none */
    gint64 department_id;        /* 0 = none */
    gint64 provider_key_id;      /* 0 = none */
    char *provider;              /* provider kind that served it, NULL = none */
    char *model;
    char *method;
    char *path;                  /* request path + query */
    int status;                  /* HTTP status sent to the client */
    char *error_code;            /* OpenAI-style error code, NULL on success */
    char *error_message;
    gint64 prompt_tokens;        /* -1 = not reported */
    gint64 completion_tokens;    /* -1 = not reported */
    gint64 total_tokens;         /* -1 = not reported */
    gboolean stream;
    char *request_body;          /* cut at the configured cap, NULL = not stored */
    gboolean request_truncated;
    char *response_body;         /* for streams: the SSE text as relayed, cut at the cap */
    gboolean response_truncated;
    char *client_ip;             /* REMOTE_ADDR */
    char *user_agent;
    char *upstream_request_id;   /* provider's own request id header */
    gint64 cached_tokens;        /* -1 = not reported (prompt tokens served from cache) */
    gint64 reasoning_tokens;     /* -1 = not reported (part of completion tokens) */
    gint64 cost_nanos;           /* USD × 1e9, -1 = unknown (then cost_flag says why) */
    char *cost_flag;             /* "unknown_model", "no_usage", NULL when cost is known */
    GPtrArray *attempts;         /* GwAttempt*, upstream attempts in order (owned, may be empty) */
    /* tracking headers (0003) */
    char *session_id, *session_path, *session_name;
    char *country;               /* alpha-2 or NULL */
    char *referer;
    char *forwarded_ip;          /* policy IP (leftmost x-forwarded-for), NULL = none */
    char *ratelimit_ip;          /* rate-limit IP (trusted-proxy rule) */
    gboolean request_omitted;    /* alephant-omit-request: request_body is NULL */
    gboolean response_omitted;   /* alephant-omit-response: response_body is NULL */
    char *prompt_id;             /* alephant-prompt-id applied, NULL = none */
    int prompt_version;          /* 0 = none */
    GPtrArray *properties;       /* GwLogProperty*, owned, may be empty */
    char *policy_result;         /* "allow" | "flag" | "block", NULL = no policy ran */
    GPtrArray *decisions;        /* GwLogDecision*, owned, may be empty */
    char *request_headers;       /* JSON object of the client's headers without credentials
                                    (0007; gw_tracking_log_headers), NULL = not kept */
    /* response cache (0006): all NULL / -1 when the request did not use the cache */
    char *cache_status;          /* "HIT" | "MISS" */
    char *cache_kind;            /* "exact" | "semantic" on a hit */
    char *cache_source_request_id; /* hit: the request whose answer was served */
    int cache_bucket_idx;        /* hit: slot served, -1 = none */
    double cache_similarity;     /* semantic hit: cosine similarity, < 0 = none */
    gint64 cache_saved_nanos;    /* hit: what the upstream call cost, -1 = none/unknown */
    gint64 cache_latency_ms;     /* lookup time, -1 = no lookup */
} GwLogRow;

/* What one policy decided for a request (stored in policy_decisions). */
typedef struct {
    gint64 policy_id;
    char *policy_name;
    char *rule;
    char *decision;              /* "allow" | "flag" | "block" */
    char *reason;
} GwLogDecision;

typedef struct {
    char *name;                  /* lower-case, without the alephant-property- prefix */
    char *value;
} GwLogProperty;

/* One upstream attempt of a request (fallback/retry), stored in request_attempts. */
typedef struct {
    int attempt;                 /* 1-based */
    gint64 provider_key_id;
    char *provider;              /* kind */
    char *model;                 /* model sent upstream */
    int status;                  /* upstream HTTP status, 0 = no answer */
    char *error_code;            /* NULL when the attempt answered */
    gint64 latency_ms;
    gint64 created_at;           /* Unix ms */
} GwAttempt;
GwAttempt *gw_attempt_new(void);
void gw_attempt_free(GwAttempt *a);
GwLogRow *gw_log_row_new(void);  /* token fields -1, strings NULL */
void gw_log_row_free(GwLogRow *row);

/* Inserts rows (and their attempts) in one transaction (all or none). */
GwStatus gw_store_log_insert(GwStore *st, GwLogRow **rows, guint n, GError **err);
/* Rows also carry "policy_result" and "policy_decisions": [{policy_id, policy_name, rule,
 * decision, reason}] (both list functions). */

/* Filters for log listing; NULL/0 fields do not filter. */
typedef struct {
    int limit;                   /* 1..1000 */
    gint64 before_id;            /* keyset cursor: rows with id < before_id (0 = newest) */
    const char *session_id;
    const char *property_name;   /* with property_value: rows having that property */
    const char *property_value;  /* NULL = any value */
} GwLogQuery;
/* Like gw_store_log_list_json, filtered (newest first by id). Each row also has "id" (the keyset
 * cursor) and "properties": {name: value}. */
GwStatus gw_store_log_query_json(GwStore *st, const GwLogQuery *q, json_t **out, GError **err);

/* Sessions, newest activity first: [{session_id, name, requests, cost_nanos, prompt_tokens,
 * completion_tokens, total_tokens, first_at, last_at, duration_ms, paths: [{path, requests}]}] */
GwStatus gw_store_sessions_json(GwStore *st, int limit, json_t **out, GError **err);

/* ---- prompt templates ---- */
/* Adds a new version of prompt name (creating the prompt); *version_out gets its number. */
GwStatus gw_store_prompt_add(GwStore *st, const char *name, const char *template_json,
                             int *version_out, GError **err);
/* The newest version (version 0) or a given one; *template_out (caller frees) is the JSON text. */
GwStatus gw_store_prompt_get(GwStore *st, const char *name, int version, char **template_out,
                             int *version_out, GError **err);       /* GW_ENOTFOUND */
/* [{name, versions, latest_version, created_at, updated_at}] */
GwStatus gw_store_prompt_list_json(GwStore *st, json_t **out, GError **err);

/* Newest first, at most limit rows, as a JSON array of objects (one key per GwLogRow field, plus
 * virtual_key, agent, department and provider_key names, and "attempts": an array of objects with
 * the GwAttempt fields and provider_key name); *out is a new reference. */
GwStatus gw_store_log_list_json(GwStore *st, int limit, json_t **out, GError **err);

/* ---- routing targets of a virtual key ---- */
typedef struct {
    gint64 id;
    gint64 provider_key_id;
    char *provider_key_name;
    char *provider;              /* kind of the provider key */
    int priority;                /* lower first */
    int weight;                  /* share among equal priorities, 0 = only when forced */
    json_t *model_map;           /* object {"client model": "upstream model"} or NULL (owned) */
} GwTarget;
void gw_target_free(GwTarget *t);

/* Targets of a virtual key ordered by priority then id; *out GPtrArray of GwTarget* (free func set). */
GwStatus gw_store_vk_targets(GwStore *st, gint64 vk_id, GPtrArray **out, GError **err);
/* Adds or updates the target (vk, provider key). model_map_json: JSON object text or NULL. */
GwStatus gw_store_vk_target_set(GwStore *st, const char *vk_name, const char *pk_name,
                                int priority, int weight, const char *model_map_json,
                                GError **err);                    /* GW_ENOTFOUND, GW_EINVAL */
/* Removes a target; refused (GW_EINUSE) when it is the key's last one. */
GwStatus gw_store_vk_target_remove(GwStore *st, const char *vk_name, const char *pk_name,
                                   GError **err);

/* ---- prices (nano-dollars per million tokens) ---- */
typedef struct {
    char *provider;
    char *model;
    gint64 input_per_mtok;
    gint64 output_per_mtok;
    gint64 cached_input_per_mtok;  /* -1 = same as input */
    gint64 effective_from;         /* Unix ms */
} GwPrice;
void gw_price_clear(GwPrice *p);

/* Price in force at at_ms for model: an exact row, else the longest row whose "model-" is a
 * prefix of model (dated variants such as gpt-4o-mini-2024-07-18). GW_ENOTFOUND when none. */
GwStatus gw_store_price_find(GwStore *st, const char *model, gint64 at_ms, GwPrice *out,
                             GError **err);
/* Inserts (or replaces the row with the same model and effective_from). */
GwStatus gw_store_price_set(GwStore *st, const GwPrice *p, GError **err);
/* All rows, by model then effective_from; *out GPtrArray of GwPrice* (free func set). */
GwStatus gw_store_price_list(GwStore *st, GPtrArray **out, GError **err);

/* ==== budgets and rate-limit rules (store_budget.c) ==== */
/* Scopes are "virtual_key", "agent" or "department", named by their name (resolved to the id;
 * GW_ENOTFOUND when it does not exist). Amounts are nano-dollars; -1 means "no limit". */

/* Largest hard or soft limit: 1e6 USD, as gw_cost_parse_usd reads. */
#define GW_BUDGET_LIMIT_MAX_NANOS G_GINT64_CONSTANT(1000000000000000)

/* Creates or replaces the scope's budget (one per scope). period: daily|weekly|monthly|lifetime;
 * reset_day: weekly 1 (Monday) … 7, monthly 1 … 28, ignored (stored as 1) otherwise. At least
 * one of hard/soft must be set; soft must not exceed hard. Spend so far is kept; changing the
 * soft limit re-arms its alert. */
GwStatus gw_store_budget_set(GwStore *st, const char *scope, const char *scope_name,
                             const char *period, int reset_day, gint64 hard_nanos,
                             gint64 soft_nanos, GError **err);
/* Removes the scope's budget with its spend and reservations (GW_OK when it had none). */
GwStatus gw_store_budget_clear(GwStore *st, const char *scope, const char *scope_name,
                               GError **err);
/* [{id, scope, scope_id, name, period, reset_day, period_start, period_end, hard_limit_nanos,
 *   soft_limit_nanos (null = none), spent_nanos, reserved_nanos (live reservations), the same
 *   four as *_usd text, soft_alerted_at (null = not this period)}] by scope then name, for the
 * period current at now_ms (gw_store_budget_list_json: now). */
GwStatus gw_store_budget_list_json(GwStore *st, json_t **out, GError **err);
GwStatus gw_store_budget_list_json_at(GwStore *st, gint64 now_ms, json_t **out, GError **err);

/* Why a reservation was refused. Clear with gw_budget_block_clear. */
typedef struct {
    const char *scope;           /* "virtual_key" | "agent" | "department" (static) */
    char *name;                  /* the scope's name (owned) */
    const char *period;          /* "daily" … "lifetime" (static) */
    gint64 hard_nanos;
    gint64 spent_nanos;          /* settled spend of the period */
    gint64 reserved_nanos;       /* live reservations of other requests in the period */
    gint64 reset_at_ms;          /* period end; G_MAXINT64 for lifetime */
} GwBudgetBlock;
void gw_budget_block_clear(GwBudgetBlock *b);

/* Reserves amount_nanos (the request's most, gw_budget_estimate_nanos) against every budget that
 * applies: the key's, its agent's and its department's (id 0 = none; the caller passes the ids
 * the request is attributed to). One BEGIN IMMEDIATE transaction: expired reservations are
 * deleted, then for each budget with a hard limit, spent + live reservations + amount > hard
 * refuses the request: nothing is written, *blocked (if not NULL) says which budget (the key's
 * first, then agent, department) and GW_ETOOBIG ("budget exceeded") is returned. Otherwise one
 * reservation per applicable budget, soft-only ones included (so settle charges every budget
 * uniformly), expiring at now_ms + ttl_ms: ttl_ms must outlast the longest request, since an
 * expired reservation is no longer charged at settle. With no applicable budget nothing is
 * written or locked. request_id must be unique per request (a server-made UUID, not the
 * client's x-request-id): GW_EEXISTS when it already holds reservations. */
GwStatus gw_store_budget_reserve(GwStore *st, gint64 vk_id, gint64 agent_id,
                                 gint64 department_id, const char *request_id,
                                 gint64 amount_nanos, gint64 now_ms, gint64 ttl_ms,
                                 GwBudgetBlock *blocked, GError **err);
/* Turns request_id's reservations into spend in one transaction: actual_nanos (or, when -1 =
 * unknown, the reserved amount: fail safe) is added to each budget's spend of the reservation's
 * period; soft_alerted_at is set at now_ms when that spend first reaches the soft limit; the
 * reservations are deleted. No reservations (none, already settled, expired): does nothing. */
GwStatus gw_store_budget_settle(GwStore *st, const char *request_id, gint64 actual_nanos,
                                gint64 now_ms, GError **err);

/* A request/token limit per window (rate_limits). */
typedef struct {
    gint64 id;
    char *scope;                 /* "virtual_key" | "agent" | "department" */
    gint64 scope_id;
    char *per;                   /* "key" | "ip" | "session" | "property" */
    char *property;              /* property name for per = "property", else "" */
    gint64 max_requests;         /* -1 = none */
    gint64 max_tokens;           /* -1 = none */
    gint64 window_ms;
} GwRateRule;
void gw_rate_rule_free(GwRateRule *r);

/* Creates or replaces the rule (scope, per, property). property (a request property name, case
 * folded to lower case) is required for per = "property" and must be NULL or "" otherwise.
 * max_*: -1 none or ≥ 0; both -1 removes the rule. window_ms: 1 s … 30 days. */
GwStatus gw_store_rate_limit_set(GwStore *st, const char *scope, const char *scope_name,
                                 const char *per, const char *property, gint64 max_requests,
                                 gint64 max_tokens, gint64 window_ms, GError **err);
/* Rules applying to a key (its own, its agent's, its department's; id 0 = none), key first;
 * *out GPtrArray of GwRateRule* (free func set). */
GwStatus gw_store_rate_limits_for_key(GwStore *st, gint64 vk_id, gint64 agent_id,
                                      gint64 department_id, GPtrArray **out, GError **err);
/* [{id, scope, scope_id, name, per, property, max_requests, max_tokens (null = none),
 *   window_ms, created_at}] by scope then name. */
GwStatus gw_store_rate_limit_list_json(GwStore *st, json_t **out, GError **err);

/* Largest completion of model (model_prices.max_output_tokens, same exact / dated-prefix match
 * as gw_store_price_find, from the newest row that records it, whatever its price date);
 * *out = -1 when unknown. */
GwStatus gw_store_price_max_output(GwStore *st, const char *model, gint64 *out, GError **err);
/* ==== end of budgets and rate-limit rules ==== */

/* ==== policies (store_policy.c; compiled and evaluated by policy.h) ==== */
/* Adds a policy after validating it with gw_policy_compile (GW_EINVAL/GW_ETOOBIG as it says).
 * scope: "global" (scope_name NULL) or "virtual_key" | "agent" | "department" with the name of
 * an existing one (GW_ENOTFOUND otherwise). action NULL = "block". The config is stored as
 * compact JSON. A taken name → GW_EEXISTS. */
GwStatus gw_store_policy_add(GwStore *st, const char *name, const char *scope,
                             const char *scope_name, const char *kind, const char *config_json,
                             const char *action, int position, gint64 *id_out, GError **err);
GwStatus gw_store_policy_remove(GwStore *st, const char *name, GError **err); /* GW_ENOTFOUND */
/* [{id, name, scope, scope_name (null for global), kind, config (object), action, position,
 * enabled, created_at}] in evaluation order: global, department, agent, virtual_key (each by
 * scope name), then position, id. *out is a new reference. */
GwStatus gw_store_policy_list_json(GwStore *st, json_t **out, GError **err);
/* The enabled policies that apply to a request of virtual key vk_id with its agent and department
 * (0 = none), compiled, in evaluation order: global, department, agent, virtual_key, each by
 * position then id. One query. *out: GPtrArray of GwPolicy* (free func set); caller unrefs.
 * A stored policy that no longer compiles fails the call (GW_EINVAL): a broken policy is never
 * silently skipped. */
GwStatus gw_store_policies_for_key(GwStore *st, gint64 vk_id, gint64 agent_id,
                                   gint64 department_id, GPtrArray **out, GError **err);
/* ==== end of policies ==== */

#endif
