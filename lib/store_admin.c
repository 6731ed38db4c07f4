/* store_admin.c — SQL of the admin program's accounts, sessions, API tokens and failed logins
 * (schema 0005; interface in store_admin.h). */
#include "config.h"
#include "store_admin.h"
#include "store_internal.h"

#include <string.h>

static const char SQL_USER_ADD[] =
    "INSERT INTO admin_users (name, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_USER_GET[] =
    "SELECT id, name, password_hash, role, created_at, last_login_at FROM admin_users "
    "WHERE name = ?1";
static const char SQL_USER_SET_PW[] = "UPDATE admin_users SET password_hash = ?2 WHERE name = ?1";
static const char SQL_USER_END_SESSIONS[] =
    "DELETE FROM admin_sessions WHERE user_id = (SELECT id FROM admin_users WHERE name = ?1)";
static const char SQL_USER_COUNT[] = "SELECT count(*) FROM admin_users";
static const char SQL_USER_TOUCH[] = "UPDATE admin_users SET last_login_at = ?2 WHERE id = ?1";
static const char SQL_USER_LIST[] =
    "SELECT name, role, created_at, last_login_at FROM admin_users ORDER BY name";

static const char SQL_SESSION_ADD[] =
    "INSERT INTO admin_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) "
    "VALUES (?1, ?2, ?3, ?4, ?4)";
static const char SQL_SESSION_GET[] =
    "SELECT s.user_id, u.name, u.role, s.csrf_token, s.created_at, s.last_seen_at "
    "FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id WHERE s.id_hash = ?1";
static const char SQL_SESSION_TOUCH[] =
    "UPDATE admin_sessions SET last_seen_at = ?2 WHERE id_hash = ?1";
static const char SQL_SESSION_DELETE[] = "DELETE FROM admin_sessions WHERE id_hash = ?1";
static const char SQL_SESSION_PURGE[] =
    "DELETE FROM admin_sessions WHERE last_seen_at < ?1 OR created_at < ?2";

static const char SQL_TOKEN_ADD[] =
    "INSERT INTO admin_api_tokens (name, token_hash, token_prefix, role, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_TOKEN_FIND[] =
    "SELECT id, name, role FROM admin_api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL";
static const char SQL_TOKEN_TOUCH[] = "UPDATE admin_api_tokens SET last_used_at = ?2 WHERE id = ?1";
static const char SQL_TOKEN_REVOKE[] =
    "UPDATE admin_api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL";
static const char SQL_TOKEN_LIST[] =
    "SELECT name, token_prefix, role, created_at, last_used_at, revoked_at FROM admin_api_tokens "
    "ORDER BY name";

static const char SQL_FAIL_ADD[] = "INSERT INTO admin_login_failures (kind, key, at) VALUES (?1, ?2, ?3)";
static const char SQL_FAIL_PURGE[] = "DELETE FROM admin_login_failures WHERE at < ?1";
static const char SQL_FAIL_COUNT[] =
    "SELECT count(*) FROM admin_login_failures WHERE kind = ?1 AND key = ?2 AND at >= ?3";
static const char SQL_FAIL_CLEAR_USER[] =
    "DELETE FROM admin_login_failures WHERE kind = 'user' AND key = ?1";

static char *col_dup(sqlite3_stmt *s, int i)
{
    return g_strdup((const char *)sqlite3_column_text(s, i));
}

static json_t *col_json_text(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v != NULL ? json_string(v) : json_null();
}

static json_t *col_json_int(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null()
                                                    : json_integer(sqlite3_column_int64(s, i));
}

/* Runs a statement that returns no rows; *changes (may be NULL) gets the changed row count. */
static GwStatus run_done(GwStore *st, sqlite3_stmt *s, const char *what, int *changes,
                         GError **err)
{
    int rc = sqlite3_step(s);
    GwStatus gs = GW_OK;
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, what, err);
    else if (changes != NULL)
        *changes = sqlite3_changes(sqlite3_db_handle(s));
    gw_store_done(s);
    return gs;
}

/* ---- users ---- */

void gw_admin_user_free(GwAdminUser *u)
{
    if (u == NULL)
        return;
    g_free(u->name);
    if (u->password_hash != NULL)
        explicit_bzero(u->password_hash, strlen(u->password_hash));
    g_free(u->password_hash);
    g_free(u->role);
    g_free(u);
}

GwStatus gw_store_admin_user_add(GwStore *st, const char *name, const char *password_hash,
                                 const char *role, gint64 *id_out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_USER_ADD, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, password_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, gw_store_now_ms());
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        gs = gw_fail(err, GW_EEXISTS, "admin user '%s' already exists", name);
    else if (rc == SQLITE_CONSTRAINT_CHECK)
        gs = gw_fail(err, GW_EINVAL, "the role must be admin or viewer");
    else if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "adding an admin user", err);
    else if (id_out != NULL)
        *id_out = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_admin_user_get(GwStore *st, const char *name, GwAdminUser **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_USER_GET, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        GwAdminUser *u = g_new0(GwAdminUser, 1);
        u->id = sqlite3_column_int64(s, 0);
        u->name = col_dup(s, 1);
        u->password_hash = col_dup(s, 2);
        u->role = col_dup(s, 3);
        u->created_at = sqlite3_column_int64(s, 4);
        u->last_login_at = sqlite3_column_int64(s, 5);
        *out = u;
    } else if (rc == SQLITE_DONE) {
        gs = gw_fail(err, GW_ENOTFOUND, "no such admin user");
    } else {
        gs = gw_store_fail(st, rc, "looking up an admin user", err);
    }
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_admin_user_set_password(GwStore *st, const char *name,
                                          const char *password_hash, GError **err)
{
    GwStatus gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_stmt *s = NULL;
    int changes = 0;
    gs = gw_store_prepare(st, SQL_USER_SET_PW, &s, err);
    if (gs == GW_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, password_hash, -1, SQLITE_TRANSIENT);
        gs = run_done(st, s, "changing a password", &changes, err);
    }
    if (gs == GW_OK && changes == 0)
        gs = gw_fail(err, GW_ENOTFOUND, "no such admin user");
    if (gs == GW_OK)
        gs = gw_store_prepare(st, SQL_USER_END_SESSIONS, &s, err);
    if (gs == GW_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
        gs = run_done(st, s, "ending the user's sessions", NULL, err);
    }
    return gw_store_end(st, gs, err);
}

GwStatus gw_store_admin_user_count(GwStore *st, gint64 *out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_USER_COUNT, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        gs = gw_store_fail(st, rc, "counting admin users", err);
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_admin_user_touch_login(GwStore *st, gint64 user_id, gint64 now_ms,
                                         GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_USER_TOUCH, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int64(s, 2, now_ms);
    return run_done(st, s, "recording a login", NULL, err);
}

GwStatus gw_store_admin_user_list_json(GwStore *st, json_t **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_USER_LIST, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "name", col_json_text(s, 0));
        json_object_set_new(o, "role", col_json_text(s, 1));
        json_object_set_new(o, "created_at", col_json_int(s, 2));
        json_object_set_new(o, "last_login_at", col_json_int(s, 3));
        json_array_append_new(rows, o);
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "listing admin users", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        json_decref(rows);
        return gs;
    }
    *out = rows;
    return GW_OK;
}

/* ---- sessions ---- */

void gw_admin_session_free(GwAdminSession *s)
{
    if (s == NULL)
        return;
    g_free(s->user_name);
    g_free(s->role);
    g_free(s->csrf_token);
    g_free(s);
}

GwStatus gw_store_admin_session_add(GwStore *st, const char *id_hash, gint64 user_id,
                                    const char *csrf_token, gint64 now_ms, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSION_ADD, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, id_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_text(s, 3, csrf_token, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, now_ms);
    return run_done(st, s, "creating a session", NULL, err);
}

GwStatus gw_store_admin_session_get(GwStore *st, const char *id_hash, GwAdminSession **out,
                                    GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSION_GET, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, id_hash, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        GwAdminSession *a = g_new0(GwAdminSession, 1);
        a->user_id = sqlite3_column_int64(s, 0);
        a->user_name = col_dup(s, 1);
        a->role = col_dup(s, 2);
        a->csrf_token = col_dup(s, 3);
        a->created_at = sqlite3_column_int64(s, 4);
        a->last_seen_at = sqlite3_column_int64(s, 5);
        *out = a;
    } else if (rc == SQLITE_DONE) {
        gs = gw_fail(err, GW_ENOTFOUND, "no such session");
    } else {
        gs = gw_store_fail(st, rc, "looking up a session", err);
    }
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_admin_session_touch(GwStore *st, const char *id_hash, gint64 now_ms,
                                      GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSION_TOUCH, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, id_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now_ms);
    return run_done(st, s, "updating a session", NULL, err);
}

GwStatus gw_store_admin_session_delete(GwStore *st, const char *id_hash, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSION_DELETE, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, id_hash, -1, SQLITE_TRANSIENT);
    return run_done(st, s, "ending a session", NULL, err);
}

GwStatus gw_store_admin_session_purge(GwStore *st, gint64 idle_before_ms,
                                      gint64 created_before_ms, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSION_PURGE, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_int64(s, 1, idle_before_ms);
    sqlite3_bind_int64(s, 2, created_before_ms);
    return run_done(st, s, "removing expired sessions", NULL, err);
}

/* ---- API tokens ---- */

void gw_admin_token_free(GwAdminToken *t)
{
    if (t == NULL)
        return;
    g_free(t->name);
    g_free(t->role);
    g_free(t);
}

GwStatus gw_store_admin_token_add(GwStore *st, const char *name, const char *token_hash,
                                  const char *token_prefix, const char *role, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_TOKEN_ADD, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, token_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, token_prefix, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, gw_store_now_ms());
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        gs = gw_fail(err, GW_EEXISTS, "an admin API token named '%s' already exists", name);
    else if (rc == SQLITE_CONSTRAINT_CHECK)
        gs = gw_fail(err, GW_EINVAL, "the role must be admin or viewer");
    else if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "adding an admin API token", err);
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_admin_token_find(GwStore *st, const char *token_hash, gint64 now_ms,
                                   GwAdminToken **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_TOKEN_FIND, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    GwAdminToken *t = NULL;
    if (rc == SQLITE_ROW) {
        t = g_new0(GwAdminToken, 1);
        t->id = sqlite3_column_int64(s, 0);
        t->name = col_dup(s, 1);
        t->role = col_dup(s, 2);
    } else if (rc == SQLITE_DONE) {
        gs = gw_fail(err, GW_ENOTFOUND, "no such admin API token");
    } else {
        gs = gw_store_fail(st, rc, "looking up an admin API token", err);
    }
    gw_store_done(s);
    if (gs == GW_OK)
        gs = gw_store_prepare(st, SQL_TOKEN_TOUCH, &s, err);
    if (gs == GW_OK && t != NULL) {
        sqlite3_bind_int64(s, 1, t->id);
        sqlite3_bind_int64(s, 2, now_ms);
        gs = run_done(st, s, "recording an admin API token's use", NULL, err);
    }
    if (gs != GW_OK) {
        gw_admin_token_free(t);
        return gs;
    }
    *out = t;
    return GW_OK;
}

GwStatus gw_store_admin_token_revoke(GwStore *st, const char *name, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_TOKEN_REVOKE, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, gw_store_now_ms());
    int changes = 0;
    gs = run_done(st, s, "revoking an admin API token", &changes, err);
    if (gs == GW_OK && changes == 0)
        gs = gw_fail(err, GW_ENOTFOUND, "no active admin API token with that name");
    return gs;
}

GwStatus gw_store_admin_token_list_json(GwStore *st, json_t **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_TOKEN_LIST, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "name", col_json_text(s, 0));
        json_object_set_new(o, "prefix", col_json_text(s, 1));
        json_object_set_new(o, "role", col_json_text(s, 2));
        json_object_set_new(o, "created_at", col_json_int(s, 3));
        json_object_set_new(o, "last_used_at", col_json_int(s, 4));
        json_object_set_new(o, "revoked_at", col_json_int(s, 5));
        json_array_append_new(rows, o);
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "listing admin API tokens", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        json_decref(rows);
        return gs;
    }
    *out = rows;
    return GW_OK;
}

/* ---- failed logins ---- */

static GwStatus failure_insert(GwStore *st, const char *kind, const char *key, gint64 now_ms,
                               GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_FAIL_ADD, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, now_ms);
    return run_done(st, s, "recording a failed login", NULL, err);
}

GwStatus gw_store_admin_login_failure_add(GwStore *st, const char *user, const char *ip,
                                          gint64 now_ms, gint64 purge_before_ms, GError **err)
{
    GwStatus gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_stmt *s = NULL;
    gs = gw_store_prepare(st, SQL_FAIL_PURGE, &s, err);
    if (gs == GW_OK) {
        sqlite3_bind_int64(s, 1, purge_before_ms);
        gs = run_done(st, s, "forgetting old failed logins", NULL, err);
    }
    if (gs == GW_OK && user != NULL)
        gs = failure_insert(st, "user", user, now_ms, err);
    if (gs == GW_OK && ip != NULL)
        gs = failure_insert(st, "ip", ip, now_ms, err);
    return gw_store_end(st, gs, err);
}

GwStatus gw_store_admin_login_failure_count(GwStore *st, const char *kind, const char *key,
                                            gint64 since_ms, gint64 *out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_FAIL_COUNT, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, since_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        gs = gw_store_fail(st, rc, "counting failed logins", err);
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_admin_login_failure_clear_user(GwStore *st, const char *user, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_FAIL_CLEAR_USER, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
    return run_done(st, s, "clearing failed logins", NULL, err);
}
