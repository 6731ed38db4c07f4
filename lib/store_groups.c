/* store_groups.c — SQL of agents and departments managed on their own and of virtual-key edits
 * (interface in store_groups.h). */
#include "config.h"
#include "store_groups.h"
#include "store_internal.h"

#include <string.h>

static const char SQL_DEPT_ADD[] = "INSERT INTO departments (name, created_at) VALUES (?1, ?2)";
static const char SQL_DEPT_ID[] = "SELECT id FROM departments WHERE name = ?1";
static const char SQL_AGENT_ADD[] =
    "INSERT INTO agents (name, department_id, created_at) VALUES (?1, ?2, ?3)";
static const char SQL_AGENT_ID[] = "SELECT id FROM agents WHERE name = ?1";
static const char SQL_VK_ID[] = "SELECT id FROM virtual_keys WHERE name = ?1";

/* Active keys referring to an agent (?1 = 'agent') or a department: count and the first names. */
static const char SQL_KEYS_OF[] =
    "SELECT COUNT(*), (SELECT group_concat(name, ', ') FROM (SELECT name FROM virtual_keys "
    "  WHERE status = 'active' AND CASE ?1 WHEN 'agent' THEN agent_id ELSE department_id END = ?2 "
    "  ORDER BY name LIMIT 5)) "
    "FROM virtual_keys WHERE status = 'active' "
    "AND CASE ?1 WHEN 'agent' THEN agent_id ELSE department_id END = ?2";
static const char SQL_AGENTS_OF[] =
    "SELECT COUNT(*), (SELECT group_concat(name, ', ') FROM (SELECT name FROM agents "
    "  WHERE department_id = ?1 ORDER BY name LIMIT 5)) "
    "FROM agents WHERE department_id = ?1";
static const char SQL_BUDGETS_DEL[] = "DELETE FROM budgets WHERE scope = ?1 AND scope_id = ?2";
static const char SQL_RATES_DEL[] = "DELETE FROM rate_limits WHERE scope = ?1 AND scope_id = ?2";
static const char SQL_POLICIES_DEL[] = "DELETE FROM policies WHERE scope = ?1 AND scope_id = ?2";
static const char SQL_AGENT_DEL[] = "DELETE FROM agents WHERE id = ?1";
static const char SQL_DEPT_DEL[] = "DELETE FROM departments WHERE id = ?1";

static const char SQL_AGENTS_JSON[] =
    "SELECT a.name, d.name, a.created_at, "
    "(SELECT json_group_array(name) FROM (SELECT name FROM virtual_keys v "
    "  WHERE v.agent_id = a.id AND v.status = 'active' ORDER BY name)), "
    "(SELECT COUNT(*) FROM virtual_keys v WHERE v.agent_id = a.id AND v.status = 'revoked') "
    "FROM agents a LEFT JOIN departments d ON d.id = a.department_id ORDER BY a.name";
static const char SQL_DEPTS_JSON[] =
    "SELECT d.name, d.created_at, "
    "(SELECT json_group_array(name) FROM (SELECT name FROM agents a "
    "  WHERE a.department_id = d.id ORDER BY name)), "
    "(SELECT json_group_array(name) FROM (SELECT name FROM virtual_keys v "
    "  WHERE v.department_id = d.id AND v.status = 'active' ORDER BY name)), "
    "(SELECT COUNT(*) FROM virtual_keys v WHERE v.department_id = d.id AND v.status = 'revoked') "
    "FROM departments d ORDER BY d.name";

/* ?2..?9: given flag and value of models, expires, agent id, department id (NULL = none). */
static const char SQL_VK_EDIT[] =
    "UPDATE virtual_keys SET "
    "allowed_models = CASE WHEN ?2 THEN ?3 ELSE allowed_models END, "
    "expires_at = CASE WHEN ?4 THEN ?5 ELSE expires_at END, "
    "agent_id = CASE WHEN ?6 THEN ?7 ELSE agent_id END, "
    "department_id = CASE WHEN ?8 THEN ?9 ELSE department_id END "
    "WHERE id = ?1";

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void bind_id_or_null(sqlite3_stmt *s, int i, gint64 v)
{
    if (v > 0)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

/* SELECT id … WHERE name = ?1 → *id; GW_ENOTFOUND without a message (callers word it). */
static GwStatus id_of(GwStore *st, const char *sql, const char *name, gint64 *id, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        gs = GW_ENOTFOUND;
    else
        gs = gw_store_fail(st, rc, "looking up a name", err);
    gw_store_done(s);
    return gs;
}

/* id_of with the message "<what> '<name>' not found<hint>". */
static GwStatus id_named(GwStore *st, const char *sql, const char *what, const char *name,
                         const char *hint, gint64 *id, GError **err)
{
    GwStatus gs = id_of(st, sql, name, id, err);
    if (gs == GW_ENOTFOUND)
        gs = gw_fail(err, GW_ENOTFOUND, "%s '%s' not found%s", what, name, hint);
    return gs;
}

/* Runs an INSERT of a name (?1), created_at and optionally a department id. */
static GwStatus insert_named(GwStore *st, const char *sql, const char *what, const char *name,
                             gint64 dept_id, gboolean with_dept, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    if (with_dept) {
        bind_id_or_null(s, 2, dept_id);
        sqlite3_bind_int64(s, 3, gw_store_now_ms());
    } else {
        sqlite3_bind_int64(s, 2, gw_store_now_ms());
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        gs = gw_fail(err, GW_EEXISTS, "%s '%s' already exists", what, name);
    else if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "adding an agent or department", err);
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_department_add(GwStore *st, const char *name, GError **err)
{
    return insert_named(st, SQL_DEPT_ADD, "department", name, 0, FALSE, err);
}

GwStatus gw_store_agent_add(GwStore *st, const char *name, const char *department, GError **err)
{
    gint64 dept_id = 0;
    GwStatus gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    if (department != NULL)
        gs = id_named(st, SQL_DEPT_ID, "department", department, ": create it first", &dept_id,
                      err);
    if (gs == GW_OK)
        gs = insert_named(st, SQL_AGENT_ADD, "agent", name, dept_id, TRUE, err);
    return gw_store_end(st, gs, err);
}

/* Count and first names of what still uses a group (sql binds ?1 kind, ?2 id, or ?1 id). */
static GwStatus users_of(GwStore *st, const char *sql, const char *kind, gint64 id, gint64 *n,
                         char **names, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    if (kind != NULL) {
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, id);
    } else {
        sqlite3_bind_int64(s, 1, id);
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int64(s, 0);
        *names = g_strdup((const char *)sqlite3_column_text(s, 1));
    } else {
        gs = gw_store_fail(st, rc, "counting what uses an agent or department", err);
    }
    gw_store_done(s);
    return gs;
}

/* Deletes the rows of sql (?1 scope, ?2 id); *changes gets their number. */
static GwStatus delete_scoped(GwStore *st, const char *sql, const char *scope, gint64 id,
                              int *changes, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "deleting an agent or department", err);
    else if (changes != NULL)
        *changes = sqlite3_changes(sqlite3_db_handle(s));
    gw_store_done(s);
    return gs;
}

static GwStatus in_use(GError **err, const char *what, const char *name, gint64 n,
                       const char *noun, const char *names, const char *advice)
{
    return gw_fail(err, GW_EINUSE, "%s '%s' is used by %" G_GINT64_FORMAT " %s%s (%s%s): %s",
                   what, name, n, noun, n == 1 ? "" : "s", names != NULL ? names : "",
                   n > 5 ? ", …" : "", advice);
}

/* scope: "agent" | "department" (static). */
static GwStatus group_delete(GwStore *st, const char *scope, const char *name,
                             GwGroupDeleted *out, GError **err)
{
    gboolean agent = strcmp(scope, "agent") == 0;
    gint64 id = 0, n = 0;
    char *names = NULL;
    GwGroupDeleted del = {0, 0, 0};
    GwStatus gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    gs = id_named(st, agent ? SQL_AGENT_ID : SQL_DEPT_ID, scope, name, "", &id, err);
    if (gs == GW_OK)
        gs = users_of(st, SQL_KEYS_OF, scope, id, &n, &names, err);
    if (gs == GW_OK && n > 0)
        gs = in_use(err, scope, name, n, "active virtual key", names,
                    "revoke those keys or give them another one first");
    g_clear_pointer(&names, g_free);
    if (gs == GW_OK && !agent)
        gs = users_of(st, SQL_AGENTS_OF, NULL, id, &n, &names, err);
    if (gs == GW_OK && !agent && n > 0)
        gs = in_use(err, scope, name, n, "agent", names, "delete those agents first");
    g_free(names);
    if (gs == GW_OK)
        gs = delete_scoped(st, SQL_BUDGETS_DEL, scope, id, &del.budgets, err);
    if (gs == GW_OK)
        gs = delete_scoped(st, SQL_RATES_DEL, scope, id, &del.rate_limits, err);
    if (gs == GW_OK)
        gs = delete_scoped(st, SQL_POLICIES_DEL, scope, id, &del.policies, err);
    if (gs == GW_OK) {
        sqlite3_stmt *s = NULL;
        gs = gw_store_prepare(st, agent ? SQL_AGENT_DEL : SQL_DEPT_DEL, &s, err);
        if (gs == GW_OK) {
            sqlite3_bind_int64(s, 1, id);
            int rc = sqlite3_step(s);
            if (rc != SQLITE_DONE)
                gs = gw_store_fail(st, rc, "deleting an agent or department", err);
            gw_store_done(s);
        }
    }
    gs = gw_store_end(st, gs, err);
    if (gs == GW_OK && out != NULL)
        *out = del;
    return gs;
}

GwStatus gw_store_agent_delete(GwStore *st, const char *name, GwGroupDeleted *out, GError **err)
{
    return group_delete(st, "agent", name, out, err);
}

GwStatus gw_store_department_delete(GwStore *st, const char *name, GwGroupDeleted *out,
                                    GError **err)
{
    return group_delete(st, "department", name, out, err);
}

/* Column i holding json_group_array text → a JSON array (an empty one if unreadable). */
static json_t *col_array(sqlite3_stmt *s, int i)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    json_t *a = text != NULL ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_array(a)) {
        json_decref(a);
        a = json_array();
    }
    return a;
}

static GwStatus list_json(GwStore *st, const char *sql, gboolean agents, json_t **out,
                          GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "name", gw_store_json_text(s, 0));
        if (agents) {
            json_object_set_new(o, "department", gw_store_json_text(s, 1));
            json_object_set_new(o, "created_at", json_integer(sqlite3_column_int64(s, 2)));
            json_object_set_new(o, "virtual_keys", col_array(s, 3));
            json_object_set_new(o, "revoked_keys", json_integer(sqlite3_column_int64(s, 4)));
        } else {
            json_object_set_new(o, "created_at", json_integer(sqlite3_column_int64(s, 1)));
            json_object_set_new(o, "agents", col_array(s, 2));
            json_object_set_new(o, "virtual_keys", col_array(s, 3));
            json_object_set_new(o, "revoked_keys", json_integer(sqlite3_column_int64(s, 4)));
        }
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        gs = gw_store_fail(st, rc, "listing agents or departments", err);
        json_decref(arr);
    } else {
        *out = arr;
    }
    gw_store_done(s);
    return gs;
}

GwStatus gw_store_agents_json(GwStore *st, json_t **out, GError **err)
{
    return list_json(st, SQL_AGENTS_JSON, TRUE, out, err);
}

GwStatus gw_store_departments_json(GwStore *st, json_t **out, GError **err)
{
    return list_json(st, SQL_DEPTS_JSON, FALSE, out, err);
}

GwStatus gw_store_vk_edit(GwStore *st, const char *name, const GwVkEdit *e, GError **err)
{
    gint64 vk_id = 0, agent_id = 0, dept_id = 0;
    GwStatus gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    gs = id_named(st, SQL_VK_ID, "virtual key", name, "", &vk_id, err);
    if (gs == GW_OK && e->agent_given && e->agent != NULL)
        gs = id_named(st, SQL_AGENT_ID, "agent", e->agent, ": create it first", &agent_id, err);
    if (gs == GW_OK && e->department_given && e->department != NULL)
        gs = id_named(st, SQL_DEPT_ID, "department", e->department, ": create it first",
                      &dept_id, err);
    sqlite3_stmt *s = NULL;
    if (gs == GW_OK)
        gs = gw_store_prepare(st, SQL_VK_EDIT, &s, err);
    if (gs == GW_OK) {
        sqlite3_bind_int64(s, 1, vk_id);
        sqlite3_bind_int(s, 2, e->models_given);
        bind_text_or_null(s, 3, e->models);
        sqlite3_bind_int(s, 4, e->expires_given);
        bind_id_or_null(s, 5, e->expires_at);
        sqlite3_bind_int(s, 6, e->agent_given);
        bind_id_or_null(s, 7, agent_id);
        sqlite3_bind_int(s, 8, e->department_given);
        bind_id_or_null(s, 9, dept_id);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
            gs = gw_store_fail(st, rc, "changing a virtual key", err);
        gw_store_done(s);
    }
    return gw_store_end(st, gs, err);
}
