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
    GBytes *secret_enc;    /* nonce||ciphertext||tag, see crypto.h */
    char *secret_hint;     /* masked suffix for display, e.g. "…Ab12" */
    gint64 created_at;     /* Unix ms */
    gint64 rotated_at;     /* Unix ms, 0 = never */
    int vk_count;          /* virtual keys referring to it (filled by list) */
} GwProviderKey;
void gw_provider_key_free(GwProviderKey *pk);

GwStatus gw_store_provider_key_add(GwStore *st, const char *name, const char *provider,
                                   const char *base_url, GBytes *secret_enc, const char *hint,
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
} GwLogRow;
GwLogRow *gw_log_row_new(void);  /* token fields -1, strings NULL */
void gw_log_row_free(GwLogRow *row);

/* Inserts rows in one transaction (all or none). */
GwStatus gw_store_log_insert(GwStore *st, GwLogRow **rows, guint n, GError **err);
/* Newest first, at most limit rows, as a JSON array of objects (one key per GwLogRow field, plus
 * virtual_key, agent, department and provider_key names); *out is a new reference. */
GwStatus gw_store_log_list_json(GwStore *st, int limit, json_t **out, GError **err);

#endif
