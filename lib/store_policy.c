/* store_policy.c — the policies table: adding (validated by compiling), removing, listing, and
 * loading the compiled policies that apply to a virtual key (see store.h, "policies"). */
#include "config.h"
#include "store.h"
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Evaluation order of scopes, from the widest: global, department, agent, virtual key. */
#define SCOPE_RANK_SQL                                                                            \
    "CASE p.scope WHEN 'global' THEN 0 WHEN 'department' THEN 1 WHEN 'agent' THEN 2 ELSE 3 END"

static const char SQL_VK_ID[] = "SELECT id FROM virtual_keys WHERE name = ?1";
static const char SQL_AGENT_ID[] = "SELECT id FROM agents WHERE name = ?1";
static const char SQL_DEPT_ID[] = "SELECT id FROM departments WHERE name = ?1";

static const char SQL_INSERT[] =
    "INSERT INTO policies (name, scope, scope_id, kind, config, action, position, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

static const char SQL_DELETE[] = "DELETE FROM policies WHERE name = ?1";

static const char SQL_LIST[] =
    "SELECT p.id, p.name, p.scope, "
    "  CASE p.scope WHEN 'virtual_key' THEN vk.name WHEN 'agent' THEN a.name "
    "    WHEN 'department' THEN d.name END AS scope_name, "
    "  p.kind, p.config, p.action, p.position, p.enabled, p.created_at "
    "FROM policies p "
    "LEFT JOIN virtual_keys vk ON p.scope = 'virtual_key' AND vk.id = p.scope_id "
    "LEFT JOIN agents a ON p.scope = 'agent' AND a.id = p.scope_id "
    "LEFT JOIN departments d ON p.scope = 'department' AND d.id = p.scope_id "
    "ORDER BY " SCOPE_RANK_SQL ", scope_name, p.position, p.id";

static const char SQL_FOR_KEY[] =
    "SELECT p.id, p.name, p.kind, p.config, p.action FROM policies p "
    "WHERE p.enabled = 1 AND (p.scope = 'global' "
    "  OR (p.scope = 'department' AND p.scope_id = ?1) "
    "  OR (p.scope = 'agent' AND p.scope_id = ?2) "
    "  OR (p.scope = 'virtual_key' AND p.scope_id = ?3)) "
    "ORDER BY " SCOPE_RANK_SQL ", p.position, p.id";

/* Id of the named virtual key, agent or department (GW_ENOTFOUND naming the scope). */
static GwStatus scope_id(GwStore *st, const char *scope, const char *scope_name, gint64 *id_out,
                         GError **err)
{
    const char *sql = strcmp(scope, "virtual_key") == 0 ? SQL_VK_ID
                      : strcmp(scope, "agent") == 0     ? SQL_AGENT_ID
                                                        : SQL_DEPT_ID;
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, scope_name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id_out = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        gs = gw_fail(err, GW_ENOTFOUND, "policy: no %s named '%s'",
                     strcmp(scope, "virtual_key") == 0 ? "virtual key" : scope, scope_name);
    else
        gs = gw_store_fail(st, rc, "looking up the policy scope", err);
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_policy_add(GwStore *st, const char *name, const char *scope,
                             const char *scope_name, const char *kind, const char *config_json,
                             const char *action, int position, gint64 *id_out, GError **err)
{
    if (action == NULL)
        action = "block";
    if (scope == NULL)
        scope = "global";
    gboolean global = strcmp(scope, "global") == 0;
    if (!global && strcmp(scope, "virtual_key") != 0 && strcmp(scope, "agent") != 0 &&
        strcmp(scope, "department") != 0)
        return gw_fail(err, GW_EINVAL,
                       "policy: the scope must be global, virtual_key, agent or department");
    if (global && scope_name != NULL)
        return gw_fail(err, GW_EINVAL, "policy: a global policy takes no scope name");
    if (!global && (scope_name == NULL || *scope_name == '\0'))
        return gw_fail(err, GW_EINVAL, "policy: a %s policy needs the %s's name", scope, scope);

    GwPolicy *p = NULL;
    GwStatus gs = gw_policy_compile(0, name, kind, config_json, action, &p, err);
    if (gs != GW_OK)
        return gs;
    gw_policy_free(p);
    /* Stored compact: the compile above proved it is one JSON object without duplicate keys. */
    json_t *cfg = json_loads(config_json, JSON_REJECT_DUPLICATES, NULL);
    char *config = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (config == NULL)
        return gw_fail(err, GW_EINVAL, "policy: cannot serialise the config");

    gs = gw_store_begin(st, err);
    if (gs != GW_OK) {
        free(config);
        return gs;
    }
    gint64 sid = 0;
    if (!global)
        gs = scope_id(st, scope, scope_name, &sid, err);
    sqlite3_stmt *s = NULL;
    if (gs == GW_OK)
        gs = gw_store_prepare(st, SQL_INSERT, &s, err);
    if (gs == GW_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, scope, -1, SQLITE_TRANSIENT);
        if (global)
            sqlite3_bind_null(s, 3);
        else
            sqlite3_bind_int64(s, 3, sid);
        sqlite3_bind_text(s, 4, kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, config, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 6, action, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 7, position);
        sqlite3_bind_int64(s, 8, gw_store_now_ms());
        int rc = sqlite3_step(s);
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
            /* The name passed the compile's alphabet check: safe to echo. */
            gs = gw_fail(err, GW_EEXISTS, "policy '%s' already exists", name);
        else if (rc != SQLITE_DONE)
            gs = gw_store_fail(st, rc, "adding a policy", err);
        else if (id_out != NULL)
            *id_out = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
        gw_store_done(s);
    }
    free(config);
    return gw_store_end(st, gs, err);
}

GwStatus gw_store_policy_remove(GwStore *st, const char *name, GError **err)
{
    if (name == NULL)
        return gw_fail(err, GW_EINVAL, "policy: a name is required");
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_DELETE, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "removing a policy", err);
    else if (sqlite3_changes(sqlite3_db_handle(s)) == 0)
        gs = gw_fail(err, GW_ENOTFOUND, "policy: no policy with that name");
    gw_store_done(s);
    return gs;
}

static json_t *text_or_null(sqlite3_stmt *s, int col)
{
    const char *v = (const char *)sqlite3_column_text(s, col);
    return v != NULL ? json_string(v) : json_null();
}

GwStatus gw_store_policy_list_json(GwStore *st, json_t **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_LIST, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *config = (const char *)sqlite3_column_text(s, 5);
        json_t *cfg = config != NULL ? json_loads(config, 0, NULL) : NULL;
        /* A config edited by hand into invalid JSON is shown as its text. */
        if (cfg == NULL)
            cfg = text_or_null(s, 5);
        json_t *row = json_object();
        json_object_set_new(row, "id", json_integer(sqlite3_column_int64(s, 0)));
        json_object_set_new(row, "name", text_or_null(s, 1));
        json_object_set_new(row, "scope", text_or_null(s, 2));
        json_object_set_new(row, "scope_name", text_or_null(s, 3));
        json_object_set_new(row, "kind", text_or_null(s, 4));
        json_object_set_new(row, "config", cfg);
        json_object_set_new(row, "action", text_or_null(s, 6));
        json_object_set_new(row, "position", json_integer(sqlite3_column_int64(s, 7)));
        json_object_set_new(row, "enabled", json_boolean(sqlite3_column_int(s, 8) != 0));
        json_object_set_new(row, "created_at", json_integer(sqlite3_column_int64(s, 9)));
        json_array_append_new(rows, row);
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "listing policies", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        json_decref(rows);
        return gs;
    }
    *out = rows;
    return GW_OK;
}

static void policy_free(gpointer p)
{
    gw_policy_free(p);
}

/* A compiled policy kept on the connection, with the stored text it was compiled from: reused
 * while the row is unchanged, so a regex is compiled once per worker thread, not per request. */
typedef struct {
    gint64 id;        /* hash key */
    char *name, *kind, *config, *action;
    GwPolicy *policy; /* one reference */
} CachedPolicy;

/* Cached policies beyond this are dropped (all at once): removed rows never pile up. */
#define POLICY_CACHE_MAX 4096

static void cached_policy_free(gpointer data)
{
    CachedPolicy *c = data;
    g_free(c->name);
    g_free(c->kind);
    g_free(c->config);
    g_free(c->action);
    gw_policy_free(c->policy);
    g_free(c);
}

static gboolean text_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The compiled policy for one row of SQL_FOR_KEY (a new reference in *out). */
static GwStatus policy_from_row(GwStore *st, sqlite3_stmt *s, GwPolicy **out, GError **err)
{
    gint64 id = sqlite3_column_int64(s, 0);
    const char *name = (const char *)sqlite3_column_text(s, 1);
    const char *kind = (const char *)sqlite3_column_text(s, 2);
    const char *config = (const char *)sqlite3_column_text(s, 3);
    const char *action = (const char *)sqlite3_column_text(s, 4);
    GHashTable *cache = gw_store_policy_cache(st, cached_policy_free);
    CachedPolicy *c = g_hash_table_lookup(cache, &id);
    if (c != NULL && text_eq(c->name, name) && text_eq(c->kind, kind) &&
        text_eq(c->config, config) && text_eq(c->action, action)) {
        *out = gw_policy_ref(c->policy);
        return GW_OK;
    }
    GwPolicy *p = NULL;
    GError *perr = NULL;
    if (gw_policy_compile(id, name, kind, config, action, &p, &perr) != GW_OK) {
        /* Fail closed: skipping a broken policy would silently lift a restriction. */
        GwStatus gs = gw_fail(err, GW_EINVAL, "stored policy %" G_GINT64_FORMAT " is invalid: %s",
                              id, perr->message);
        g_error_free(perr);
        return gs;
    }
    if (g_hash_table_size(cache) >= POLICY_CACHE_MAX)
        g_hash_table_remove_all(cache);
    c = g_new0(CachedPolicy, 1);
    c->id = id;
    c->name = g_strdup(name);
    c->kind = g_strdup(kind);
    c->config = g_strdup(config);
    c->action = g_strdup(action);
    c->policy = p;
    g_hash_table_replace(cache, &c->id, c);
    *out = gw_policy_ref(p);
    return GW_OK;
}

GwStatus gw_store_policies_for_key(GwStore *st, gint64 vk_id, gint64 agent_id,
                                   gint64 department_id, GPtrArray **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_FOR_KEY, &s, err);
    if (gs != GW_OK)
        return gs;
    /* 0 = none; ids start at 1, so binding 0 matches nothing. */
    sqlite3_bind_int64(s, 1, department_id);
    sqlite3_bind_int64(s, 2, agent_id);
    sqlite3_bind_int64(s, 3, vk_id);
    GPtrArray *list = g_ptr_array_new_with_free_func(policy_free);
    int rc = SQLITE_DONE;
    while (gs == GW_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        GwPolicy *p = NULL;
        gs = policy_from_row(st, s, &p, err);
        if (gs == GW_OK)
            g_ptr_array_add(list, p);
    }
    if (gs == GW_OK && rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "loading policies", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        g_ptr_array_unref(list);
        return gs;
    }
    *out = list;
    return GW_OK;
}
