/* store_admin.h — the admin program's storage (schema 0005): operator accounts, browser sessions
 * (by the SHA-256 of their cookie), admin API tokens (by SHA-256) and failed-login records. */
#ifndef GW_STORE_ADMIN_H
#define GW_STORE_ADMIN_H

#include <glib.h>
#include <jansson.h>
#include "status.h"
#include "store.h"

typedef struct {
    gint64 id;
    char *name;
    char *password_hash;     /* crypt(3) string */
    char *role;              /* "admin" | "viewer" */
    gint64 created_at;
    gint64 last_login_at;    /* 0 = never */
} GwAdminUser;
void gw_admin_user_free(GwAdminUser *u);

/* GW_EEXISTS when the name is taken. role: "admin" | "viewer" (checked by the schema). */
GwStatus gw_store_admin_user_add(GwStore *st, const char *name, const char *password_hash,
                                 const char *role, gint64 *id_out, GError **err);
GwStatus gw_store_admin_user_get(GwStore *st, const char *name, GwAdminUser **out,
                                 GError **err);                        /* GW_ENOTFOUND */
/* Replaces the password hash and ends every session of the user. GW_ENOTFOUND. */
GwStatus gw_store_admin_user_set_password(GwStore *st, const char *name,
                                          const char *password_hash, GError **err);
GwStatus gw_store_admin_user_count(GwStore *st, gint64 *out, GError **err);
GwStatus gw_store_admin_user_touch_login(GwStore *st, gint64 user_id, gint64 now_ms,
                                         GError **err);
/* [{name, role, created_at, last_login_at (null = never)}] by name. */
GwStatus gw_store_admin_user_list_json(GwStore *st, json_t **out, GError **err);

/* ---- sessions ---- */
typedef struct {
    gint64 user_id;
    char *user_name;
    char *role;
    char *csrf_token;
    gint64 created_at;
    gint64 last_seen_at;
} GwAdminSession;
void gw_admin_session_free(GwAdminSession *s);

GwStatus gw_store_admin_session_add(GwStore *st, const char *id_hash, gint64 user_id,
                                    const char *csrf_token, gint64 now_ms, GError **err);
/* The session with that id hash (GW_ENOTFOUND), whatever its age: the caller checks expiry. */
GwStatus gw_store_admin_session_get(GwStore *st, const char *id_hash, GwAdminSession **out,
                                    GError **err);
GwStatus gw_store_admin_session_touch(GwStore *st, const char *id_hash, gint64 now_ms,
                                      GError **err);
GwStatus gw_store_admin_session_delete(GwStore *st, const char *id_hash, GError **err);
/* Deletes sessions idle since before idle_before_ms or created before created_before_ms. */
GwStatus gw_store_admin_session_purge(GwStore *st, gint64 idle_before_ms,
                                      gint64 created_before_ms, GError **err);

/* ---- API tokens ---- */
typedef struct {
    gint64 id;
    char *name;
    char *role;
} GwAdminToken;
void gw_admin_token_free(GwAdminToken *t);

/* GW_EEXISTS when the name is taken. */
GwStatus gw_store_admin_token_add(GwStore *st, const char *name, const char *token_hash,
                                  const char *token_prefix, const char *role, GError **err);
/* The unrevoked token with that hash (GW_ENOTFOUND); records its use at now_ms. */
GwStatus gw_store_admin_token_find(GwStore *st, const char *token_hash, gint64 now_ms,
                                   GwAdminToken **out, GError **err);
GwStatus gw_store_admin_token_revoke(GwStore *st, const char *name, GError **err);
/* [{name, prefix, role, created_at, last_used_at, revoked_at}] by name (nulls for never). */
GwStatus gw_store_admin_token_list_json(GwStore *st, json_t **out, GError **err);

/* ---- failed logins (kind "user" or "ip") ---- */
/* Records one failure for each non-NULL key, and drops records older than purge_before_ms. */
GwStatus gw_store_admin_login_failure_add(GwStore *st, const char *user, const char *ip,
                                          gint64 now_ms, gint64 purge_before_ms, GError **err);
/* Failures of kind/key at or after since_ms. */
GwStatus gw_store_admin_login_failure_count(GwStore *st, const char *kind, const char *key,
                                            gint64 since_ms, gint64 *out, GError **err);
/* Forgets the failures of a user name (after a successful login). */
GwStatus gw_store_admin_login_failure_clear_user(GwStore *st, const char *user, GError **err);

#endif
