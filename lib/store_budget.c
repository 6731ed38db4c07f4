/* store_budget.c — SQL of budgets (limits, reservations, settled spend), rate-limit rules and
 * model output limits; declared in store.h's "budgets and rate-limit rules" section. */
#include "config.h"
#include "store_internal.h"

#include <string.h>

#include "budget.h"
#include "cost.h"

#define PROPERTY_NAME_MAX 64 /* as the tracking headers allow */
#define WINDOW_MIN_MS G_GINT64_CONSTANT(1000)
#define WINDOW_MAX_MS (G_GINT64_CONSTANT(30) * 86400000)

/* ---- statement helpers: bound parameters only ---- */

typedef struct {
    const char *s;    /* text (NULL: integer or null) */
    gint64 i;
    gboolean null;
} Param;

#define PI(v) ((Param){.i = (v)})
#define PS(v) ((Param){.s = (v), .null = (v) == NULL})
/* Optional amount: negative (none) binds NULL. */
#define PO(v) ((Param){.i = (v), .null = (v) < 0})
/* Row ids: 0 (none) binds NULL so it matches nothing. */
#define PID(v) ((Param){.i = (v), .null = (v) <= 0})
#define ARGS(...) (const Param[]){__VA_ARGS__}, (int)G_N_ELEMENTS(((const Param[]){__VA_ARGS__}))

static GwStatus stmt_open(GwStore *st, const char *sql, const Param *p, int n, const char *what,
                          sqlite3_stmt **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    for (int i = 0; i < n; i++) {
        int rc = p[i].s != NULL ? sqlite3_bind_text(s, i + 1, p[i].s, -1, SQLITE_TRANSIENT)
                 : p[i].null    ? sqlite3_bind_null(s, i + 1)
                                : sqlite3_bind_int64(s, i + 1, p[i].i);
        if (rc != SQLITE_OK) {
            gs = gw_store_fail(st, rc, what, err);
            gw_store_done(s);
            return gs;
        }
    }
    *out = s;
    return GW_OK;
}

/* Runs a statement returning no rows. */
static GwStatus exec_sql(GwStore *st, const char *sql, const Param *p, int n, const char *what,
                         GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = stmt_open(st, sql, p, n, what, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        gs = gw_store_fail(st, rc, what, err);
    gw_store_done(s);
    return gs;
}

/* First column of the first row: *found FALSE (and *out untouched) without a row; a NULL value
 * leaves *out untouched too. */
static GwStatus query_i64(GwStore *st, const char *sql, const Param *p, int n, const char *what,
                          gint64 *out, gboolean *found, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = stmt_open(st, sql, p, n, what, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            *out = sqlite3_column_int64(s, 0);
        if (found != NULL)
            *found = TRUE;
    } else if (rc == SQLITE_DONE) {
        if (found != NULL)
            *found = FALSE;
    } else {
        gs = gw_store_fail(st, rc, what, err);
    }
    gw_store_done(s);
    return gs;
}

static gint64 col_opt(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
}

static json_t *json_opt(gint64 v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *json_usd(gint64 nanos)
{
    if (nanos < 0)
        return json_null();
    char *s = gw_cost_format_usd(nanos);
    json_t *j = json_string(s);
    g_free(s);
    return j;
}

static json_t *json_col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    json_t *j = t != NULL ? json_string(t) : NULL;
    return j != NULL ? j : json_null();
}

static gint64 sat_add(gint64 a, gint64 b)
{
    return a > G_MAXINT64 - b ? G_MAXINT64 : a + b;
}

/* ---- scopes ---- */

static const char SQL_VK_ID[] = "SELECT id FROM virtual_keys WHERE name = ?1";
static const char SQL_AGENT_ID[] = "SELECT id FROM agents WHERE name = ?1";
static const char SQL_DEPT_ID[] = "SELECT id FROM departments WHERE name = ?1";

static const struct {
    const char *scope;
    const char *id_sql;
    const char *noun;
} scopes[] = {
    {"virtual_key", SQL_VK_ID, "virtual key"},
    {"agent", SQL_AGENT_ID, "agent"},
    {"department", SQL_DEPT_ID, "department"},
};

/* The static spelling of a scope name (so rows can point at it), NULL when unknown. */
static const char *scope_static(const char *scope)
{
    for (gsize i = 0; scope != NULL && i < G_N_ELEMENTS(scopes); i++)
        if (strcmp(scope, scopes[i].scope) == 0)
            return scopes[i].scope;
    return NULL;
}

static const char *scope_noun(const char *scope)
{
    for (gsize i = 0; scope != NULL && i < G_N_ELEMENTS(scopes); i++)
        if (strcmp(scope, scopes[i].scope) == 0)
            return scopes[i].noun;
    return "?";
}

static GwStatus scope_resolve(GwStore *st, const char *scope, const char *name, gint64 *id_out,
                              GError **err)
{
    for (gsize i = 0; scope != NULL && i < G_N_ELEMENTS(scopes); i++) {
        if (strcmp(scope, scopes[i].scope) != 0)
            continue;
        if (name == NULL)
            return gw_fail(err, GW_EINVAL, "no %s name given", scopes[i].noun);
        gboolean found = FALSE;
        GwStatus gs = query_i64(st, scopes[i].id_sql, ARGS(PS(name)), "looking up a name", id_out,
                                &found, err);
        if (gs == GW_OK && !found)
            gs = gw_fail(err, GW_ENOTFOUND, "%s '%s' does not exist", scopes[i].noun, name);
        return gs;
    }
    return gw_fail(err, GW_EINVAL, "unknown scope '%s' (virtual_key, agent or department)",
                   scope != NULL ? scope : "(null)");
}

#define SCOPE_NAME_SQL(scope_col, id_col)                                  \
    "CASE " scope_col " "                                                  \
    "WHEN 'virtual_key' THEN (SELECT name FROM virtual_keys WHERE id = " id_col ") " \
    "WHEN 'agent' THEN (SELECT name FROM agents WHERE id = " id_col ") "   \
    "ELSE (SELECT name FROM departments WHERE id = " id_col ") END"
#define SCOPE_ORDER_SQL(scope_col) \
    "CASE " scope_col " WHEN 'virtual_key' THEN 0 WHEN 'agent' THEN 1 ELSE 2 END"

/* ---- budgets: configuration ---- */

static const char SQL_BUDGET_SOFT[] =
    "SELECT soft_limit_nanos FROM budgets WHERE scope = ?1 AND scope_id = ?2";
static const char SQL_BUDGET_UPSERT[] =
    "INSERT INTO budgets (scope, scope_id, period, reset_day, hard_limit_nanos, "
    "soft_limit_nanos, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT (scope, scope_id) DO UPDATE SET period = excluded.period, "
    "reset_day = excluded.reset_day, hard_limit_nanos = excluded.hard_limit_nanos, "
    "soft_limit_nanos = excluded.soft_limit_nanos";
static const char SQL_BUDGET_REARM[] =
    "UPDATE budget_spend SET soft_alerted_at = NULL WHERE soft_alerted_at IS NOT NULL "
    "AND budget_id = (SELECT id FROM budgets WHERE scope = ?1 AND scope_id = ?2)";
static const char SQL_BUDGET_DELETE[] = "DELETE FROM budgets WHERE scope = ?1 AND scope_id = ?2";

static gboolean limit_ok(gint64 v)
{
    return v == -1 || (v >= 0 && v <= GW_BUDGET_LIMIT_MAX_NANOS);
}

GwStatus gw_store_budget_set(GwStore *st, const char *scope, const char *scope_name,
                             const char *period, int reset_day, gint64 hard_nanos,
                             gint64 soft_nanos, GError **err)
{
    GwBudgetPeriod p;
    if (!gw_budget_period_parse(period, &p))
        return gw_fail(err, GW_EINVAL, "budget period must be daily, weekly, monthly or lifetime");
    if (!gw_budget_reset_day_ok(p, reset_day))
        return gw_fail(err, GW_EINVAL, "budget reset day must be %s",
                       p == GW_PERIOD_WEEKLY ? "1 (Monday) to 7 (Sunday)" : "1 to 28");
    if (p == GW_PERIOD_DAILY || p == GW_PERIOD_LIFETIME)
        reset_day = 1;
    if (!limit_ok(hard_nanos) || !limit_ok(soft_nanos))
        return gw_fail(err, GW_EINVAL, "budget limits must be 0 to 1000000 USD");
    if (hard_nanos < 0 && soft_nanos < 0)
        return gw_fail(err, GW_EINVAL, "a budget needs a hard or a soft limit");
    if (hard_nanos >= 0 && soft_nanos > hard_nanos)
        return gw_fail(err, GW_EINVAL, "the soft limit is above the hard limit");
    const char *sc = scope_static(scope);
    gint64 id = 0;
    GwStatus gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    gs = scope_resolve(st, scope, scope_name, &id, err);
    gint64 old_soft = -1;
    gboolean existed = FALSE;
    if (gs == GW_OK)
        gs = query_i64(st, SQL_BUDGET_SOFT, ARGS(PS(sc), PI(id)), "reading a budget", &old_soft,
                       &existed, err);
    if (gs == GW_OK)
        gs = exec_sql(st, SQL_BUDGET_UPSERT,
                      ARGS(PS(sc), PI(id), PS(period), PI(reset_day), PO(hard_nanos),
                           PO(soft_nanos), PI(gw_store_now_ms())),
                      "setting a budget", err);
    /* An alert recorded against another threshold no longer says anything. */
    if (gs == GW_OK && existed && old_soft != soft_nanos)
        gs = exec_sql(st, SQL_BUDGET_REARM, ARGS(PS(sc), PI(id)), "setting a budget", err);
    return gw_store_end(st, gs, err);
}

GwStatus gw_store_budget_clear(GwStore *st, const char *scope, const char *scope_name,
                               GError **err)
{
    gint64 id = 0;
    GwStatus gs = scope_resolve(st, scope, scope_name, &id, err);
    if (gs == GW_OK)
        gs = exec_sql(st, SQL_BUDGET_DELETE, ARGS(PS(scope_static(scope)), PI(id)),
                      "removing a budget", err);
    return gs;
}

/* ---- budgets: period state ---- */

static const char SQL_SPEND_GET[] =
    "SELECT spent_nanos, soft_alerted_at FROM budget_spend "
    "WHERE budget_id = ?1 AND period_start = ?2";
static const char SQL_RESERVED_SUM[] =
    "SELECT COALESCE(SUM(amount_nanos), 0) FROM budget_reservations "
    "WHERE budget_id = ?1 AND period_start = ?2 AND expires_at > ?3";

/* Settled spend (0 if none) and soft alert time (-1 if none) of a budget's period. */
static GwStatus spend_get(GwStore *st, gint64 budget_id, gint64 start, gint64 *spent,
                          gint64 *alerted, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = stmt_open(st, SQL_SPEND_GET, ARGS(PI(budget_id), PI(start)),
                            "reading budget spend", &s, err);
    if (gs != GW_OK)
        return gs;
    *spent = 0;
    *alerted = -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *spent = sqlite3_column_int64(s, 0);
        *alerted = col_opt(s, 1);
    } else if (rc != SQLITE_DONE) {
        gs = gw_store_fail(st, rc, "reading budget spend", err);
    }
    gw_store_done(s);
    return gs;
}

static GwStatus reserved_sum(GwStore *st, gint64 budget_id, gint64 start, gint64 now_ms,
                             gint64 *out, GError **err)
{
    *out = 0;
    return query_i64(st, SQL_RESERVED_SUM, ARGS(PI(budget_id), PI(start), PI(now_ms)),
                     "summing budget reservations", out, NULL, err);
}

static const char SQL_BUDGET_LIST[] =
    "SELECT b.id, b.scope, b.scope_id, " SCOPE_NAME_SQL("b.scope", "b.scope_id") ", "
    "b.period, b.reset_day, b.hard_limit_nanos, b.soft_limit_nanos FROM budgets b "
    "ORDER BY " SCOPE_ORDER_SQL("b.scope") ", 4, b.id";

GwStatus gw_store_budget_list_json(GwStore *st, json_t **out, GError **err)
{
    return gw_store_budget_list_json_at(st, gw_store_now_ms(), out, err);
}

GwStatus gw_store_budget_list_json_at(GwStore *st, gint64 now_ms, json_t **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_BUDGET_LIST, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *arr = json_array();
    int rc;
    while (gs == GW_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        gint64 id = sqlite3_column_int64(s, 0);
        const char *period = (const char *)sqlite3_column_text(s, 4);
        int reset_day = sqlite3_column_int(s, 5);
        gint64 hard = col_opt(s, 6), soft = col_opt(s, 7);
        gint64 start = 0, end = 0, spent = 0, alerted = -1, reserved = 0;
        if (!gw_budget_period(period, reset_day, now_ms, &start, &end)) {
            gs = gw_fail(err, GW_EDB, "budget %" G_GINT64_FORMAT " has an invalid period", id);
            break;
        }
        gs = spend_get(st, id, start, &spent, &alerted, err);
        if (gs == GW_OK)
            gs = reserved_sum(st, id, start, now_ms, &reserved, err);
        if (gs != GW_OK)
            break;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(id));
        json_object_set_new(o, "scope", json_col_text(s, 1));
        json_object_set_new(o, "scope_id", json_integer(sqlite3_column_int64(s, 2)));
        json_object_set_new(o, "name", json_col_text(s, 3));
        json_object_set_new(o, "period", json_col_text(s, 4));
        json_object_set_new(o, "reset_day", json_integer(reset_day));
        json_object_set_new(o, "period_start", json_integer(start));
        json_object_set_new(o, "period_end", json_integer(end));
        json_object_set_new(o, "hard_limit_nanos", json_opt(hard));
        json_object_set_new(o, "soft_limit_nanos", json_opt(soft));
        json_object_set_new(o, "spent_nanos", json_integer(spent));
        json_object_set_new(o, "reserved_nanos", json_integer(reserved));
        json_object_set_new(o, "hard_limit_usd", json_usd(hard));
        json_object_set_new(o, "soft_limit_usd", json_usd(soft));
        json_object_set_new(o, "spent_usd", json_usd(spent));
        json_object_set_new(o, "reserved_usd", json_usd(reserved));
        json_object_set_new(o, "soft_alerted_at", json_opt(alerted));
        json_array_append_new(arr, o);
    }
    if (gs == GW_OK && rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "listing budgets", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        json_decref(arr);
        return gs;
    }
    *out = arr;
    return GW_OK;
}

/* ---- budgets: reserve and settle ---- */

void gw_budget_block_clear(GwBudgetBlock *b)
{
    if (b == NULL)
        return;
    g_free(b->name);
    memset(b, 0, sizeof *b);
}

typedef struct {
    gint64 id;
    const char *scope;   /* static */
    gint64 scope_id;
    char *name;
    char *period_name;   /* "daily", … */
    GwBudgetPeriod period;
    int reset_day;
    gint64 hard, soft;   /* -1 = none */
    gint64 start, end;   /* the period at now */
} Budget;

static void budget_free(gpointer p)
{
    Budget *b = p;
    g_free(b->name);
    g_free(b->period_name);
    g_free(b);
}

static gpointer budget_copy(gconstpointer src, gpointer unused G_GNUC_UNUSED)
{
    const Budget *b = src;
    Budget *c = g_new0(Budget, 1);
    *c = *b;
    c->name = g_strdup(b->name);
    c->period_name = g_strdup(b->period_name);
    return c;
}

/* Key first, so a refusal names the narrowest budget. */
static const char SQL_BUDGETS_FOR[] =
    "SELECT b.id, b.scope, b.scope_id, " SCOPE_NAME_SQL("b.scope", "b.scope_id") ", "
    "b.period, b.reset_day, b.hard_limit_nanos, b.soft_limit_nanos FROM budgets b "
    "WHERE (b.scope = 'virtual_key' AND b.scope_id = ?1) "
    "OR (b.scope = 'agent' AND b.scope_id = ?2) "
    "OR (b.scope = 'department' AND b.scope_id = ?3) "
    "ORDER BY " SCOPE_ORDER_SQL("b.scope");

/* The budget rows of a key (no periods yet). */
static GwStatus budget_rows(GwStore *st, gint64 vk_id, gint64 agent_id, gint64 dept_id,
                            GPtrArray **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = stmt_open(st, SQL_BUDGETS_FOR, ARGS(PID(vk_id), PID(agent_id), PID(dept_id)),
                            "reading budgets", &s, err);
    if (gs != GW_OK)
        return gs;
    GPtrArray *arr = g_ptr_array_new_with_free_func(budget_free);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Budget *b = g_new0(Budget, 1);
        g_ptr_array_add(arr, b);
        b->id = sqlite3_column_int64(s, 0);
        b->scope = scope_static((const char *)sqlite3_column_text(s, 1));
        b->scope_id = sqlite3_column_int64(s, 2);
        b->name = g_strdup((const char *)sqlite3_column_text(s, 3));
        b->period_name = g_strdup((const char *)sqlite3_column_text(s, 4));
        b->reset_day = sqlite3_column_int(s, 5);
        b->hard = col_opt(s, 6);
        b->soft = col_opt(s, 7);
        if (b->scope == NULL || !gw_budget_period_parse(b->period_name, &b->period)) {
            gs = gw_fail(err, GW_EDB, "budget %" G_GINT64_FORMAT " is invalid", b->id);
            break;
        }
    }
    if (gs == GW_OK && rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "reading budgets", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        g_ptr_array_unref(arr);
        return gs;
    }
    *out = arr;
    return GW_OK;
}

/* The budgets of a key with their periods at now_ms. The rows are kept per connection while the
 * configuration is unchanged (store_internal.h, memo). */
static GwStatus budgets_for(GwStore *st, gint64 vk_id, gint64 agent_id, gint64 dept_id,
                            gint64 now_ms, GPtrArray **out, GError **err)
{
    gint64 version = gw_store_config_version(st);
    char key[96];
    g_snprintf(key, sizeof key, "budgets:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
               vk_id, agent_id, dept_id);
    const GPtrArray *m = gw_store_memo_get(st, key, version);
    GPtrArray *arr = NULL;
    if (m != NULL) {
        arr = gw_store_memo_copy_array(m, budget_copy, budget_free);
    } else {
        GwStatus gs = budget_rows(st, vk_id, agent_id, dept_id, &arr, err);
        if (gs != GW_OK)
            return gs;
        gw_store_memo_put(st, key, version,
                          gw_store_memo_copy_array(arr, budget_copy, budget_free),
                          (GDestroyNotify)g_ptr_array_unref);
    }
    for (guint i = 0; i < arr->len; i++) {
        Budget *b = g_ptr_array_index(arr, i);
        if (!gw_budget_period(b->period_name, b->reset_day, now_ms, &b->start, &b->end)) {
            g_ptr_array_unref(arr);
            return gw_fail(err, GW_EDB, "budget %" G_GINT64_FORMAT " is invalid", b->id);
        }
    }
    *out = arr;
    return GW_OK;
}

static const char SQL_RESERVATIONS_EXPIRE[] =
    "DELETE FROM budget_reservations WHERE expires_at <= ?1";
/* budget_reservations has no request_id index; the table holds only in-flight requests. */
static const char SQL_RESERVATION_EXISTS[] =
    "SELECT 1 FROM budget_reservations WHERE request_id = ?1 LIMIT 1";
static const char SQL_RESERVATION_INSERT[] =
    "INSERT INTO budget_reservations (budget_id, period_start, amount_nanos, request_id, "
    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/* Inside the reservation transaction: GW_ETOOBIG (with *blocked) when a hard limit refuses. */
static GwStatus reserve_locked(GwStore *st, GPtrArray *budgets, const char *request_id,
                               gint64 amount, gint64 now_ms, gint64 ttl_ms,
                               GwBudgetBlock *blocked, GError **err)
{
    GwStatus gs = exec_sql(st, SQL_RESERVATIONS_EXPIRE, ARGS(PI(now_ms)),
                           "releasing expired reservations", err);
    gboolean exists = FALSE;
    gint64 one = 0;
    if (gs == GW_OK)
        gs = query_i64(st, SQL_RESERVATION_EXISTS, ARGS(PS(request_id)),
                       "reading reservations", &one, &exists, err);
    if (gs == GW_OK && exists)
        return gw_fail(err, GW_EEXISTS, "request %s already holds a budget reservation",
                       request_id);
    for (guint i = 0; gs == GW_OK && i < budgets->len; i++) {
        const Budget *b = g_ptr_array_index(budgets, i);
        if (b->hard < 0)
            continue;
        gint64 spent = 0, alerted = -1, reserved = 0;
        gs = spend_get(st, b->id, b->start, &spent, &alerted, err);
        if (gs == GW_OK)
            gs = reserved_sum(st, b->id, b->start, now_ms, &reserved, err);
        if (gs == GW_OK && sat_add(sat_add(spent, reserved), amount) > b->hard) {
            if (blocked != NULL) {
                gw_budget_block_clear(blocked);
                blocked->scope = b->scope;
                blocked->name = g_strdup(b->name);
                blocked->period = gw_budget_period_name(b->period);
                blocked->hard_nanos = b->hard;
                blocked->spent_nanos = spent;
                blocked->reserved_nanos = reserved;
                blocked->reset_at_ms = b->end;
            }
            char *hard_usd = gw_cost_format_usd(b->hard);
            gs = gw_fail(err, GW_ETOOBIG, "budget exceeded: %s limit of %s USD of %s '%s'",
                         gw_budget_period_name(b->period), hard_usd, scope_noun(b->scope),
                         b->name != NULL ? b->name : "?");
            g_free(hard_usd);
        }
    }
    gint64 expires = sat_add(now_ms, ttl_ms);
    for (guint i = 0; gs == GW_OK && i < budgets->len; i++) {
        const Budget *b = g_ptr_array_index(budgets, i);
        gs = exec_sql(st, SQL_RESERVATION_INSERT,
                      ARGS(PI(b->id), PI(b->start), PI(amount), PS(request_id), PI(expires)),
                      "reserving budget", err);
    }
    return gs;
}

GwStatus gw_store_budget_reserve(GwStore *st, gint64 vk_id, gint64 agent_id,
                                 gint64 department_id, const char *request_id,
                                 gint64 amount_nanos, gint64 now_ms, gint64 ttl_ms,
                                 GwBudgetBlock *blocked, GError **err)
{
    if (request_id == NULL || *request_id == '\0')
        return gw_fail(err, GW_EINVAL, "budget reservation: no request id");
    if (amount_nanos < 0 || ttl_ms <= 0 || now_ms < 0)
        return gw_fail(err, GW_EINVAL, "budget reservation: bad amount, clock or ttl");
    /* Above the largest possible limit every hard limit refuses anyway; the clamp keeps SUM()
     * over reservations far from overflow. */
    gint64 amount = MIN(amount_nanos, GW_BUDGET_LIMIT_MAX_NANOS + 1);

    /* Most keys have no budget: find out without taking the write lock. */
    GPtrArray *budgets = NULL;
    GwStatus gs = budgets_for(st, vk_id, agent_id, department_id, now_ms, &budgets, err);
    if (gs != GW_OK)
        return gs;
    guint n = budgets->len;
    g_ptr_array_unref(budgets);
    if (n == 0)
        return GW_OK;

    gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    /* Read again under the lock: the budgets may have changed in between. */
    budgets = NULL;
    gs = budgets_for(st, vk_id, agent_id, department_id, now_ms, &budgets, err);
    if (gs == GW_OK)
        gs = reserve_locked(st, budgets, request_id, amount, now_ms, ttl_ms, blocked, err);
    if (budgets != NULL)
        g_ptr_array_unref(budgets);
    return gw_store_end(st, gs, err);
}

static const char SQL_RESERVATIONS_OF[] =
    "SELECT r.id, r.budget_id, r.period_start, r.amount_nanos, b.soft_limit_nanos "
    "FROM budget_reservations r JOIN budgets b ON b.id = r.budget_id WHERE r.request_id = ?1";
/* ?4 soft limit (NULL = none), ?5 now: the alert is stamped once, when spend first reaches it. */
static const char SQL_SPEND_ADD[] =
    "INSERT INTO budget_spend (budget_id, period_start, spent_nanos, soft_alerted_at) "
    "VALUES (?1, ?2, ?3, CASE WHEN ?4 IS NOT NULL AND ?3 >= ?4 THEN ?5 END) "
    "ON CONFLICT (budget_id, period_start) DO UPDATE SET "
    "spent_nanos = spent_nanos + excluded.spent_nanos, "
    "soft_alerted_at = CASE WHEN soft_alerted_at IS NULL AND ?4 IS NOT NULL "
    "AND spent_nanos + excluded.spent_nanos >= ?4 THEN ?5 ELSE soft_alerted_at END";
static const char SQL_RESERVATION_DELETE[] = "DELETE FROM budget_reservations WHERE id = ?1";

typedef struct {
    gint64 id, budget_id, period_start, amount, soft;
} Reservation;

static GwStatus reservations_of(GwStore *st, const char *request_id, GArray **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = stmt_open(st, SQL_RESERVATIONS_OF, ARGS(PS(request_id)),
                            "reading reservations", &s, err);
    if (gs != GW_OK)
        return gs;
    GArray *arr = g_array_new(FALSE, TRUE, sizeof(Reservation));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Reservation r = {
            .id = sqlite3_column_int64(s, 0),
            .budget_id = sqlite3_column_int64(s, 1),
            .period_start = sqlite3_column_int64(s, 2),
            .amount = sqlite3_column_int64(s, 3),
            .soft = col_opt(s, 4),
        };
        g_array_append_val(arr, r);
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "reading reservations", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        g_array_unref(arr);
        return gs;
    }
    *out = arr;
    return GW_OK;
}

GwStatus gw_store_budget_settle(GwStore *st, const char *request_id, gint64 actual_nanos,
                                gint64 now_ms, GError **err)
{
    if (request_id == NULL || *request_id == '\0')
        return gw_fail(err, GW_EINVAL, "budget settle: no request id");
    /* Requests without budgets settle without taking the write lock. */
    gboolean exists = FALSE;
    gint64 one = 0;
    GwStatus gs = query_i64(st, SQL_RESERVATION_EXISTS, ARGS(PS(request_id)),
                            "reading reservations", &one, &exists, err);
    if (gs != GW_OK || !exists)
        return gs;
    gs = gw_store_begin(st, err);
    if (gs != GW_OK)
        return gs;
    GArray *res = NULL;
    gs = reservations_of(st, request_id, &res, err);
    for (guint i = 0; gs == GW_OK && i < res->len; i++) {
        const Reservation *r = &g_array_index(res, Reservation, i);
        gint64 charge = actual_nanos >= 0 ? MIN(actual_nanos, GW_BUDGET_LIMIT_MAX_NANOS + 1)
                                          : r->amount;
        gs = exec_sql(st, SQL_SPEND_ADD,
                      ARGS(PI(r->budget_id), PI(r->period_start), PI(charge), PO(r->soft),
                           PI(now_ms)),
                      "charging budget spend", err);
        if (gs == GW_OK)
            gs = exec_sql(st, SQL_RESERVATION_DELETE, ARGS(PI(r->id)),
                          "releasing a reservation", err);
    }
    if (res != NULL)
        g_array_unref(res);
    return gw_store_end(st, gs, err);
}

/* ---- rate-limit rules ---- */

void gw_rate_rule_free(GwRateRule *r)
{
    if (r == NULL)
        return;
    g_free(r->scope);
    g_free(r->per);
    g_free(r->property);
    g_free(r);
}

static const char SQL_RATE_UPSERT[] =
    "INSERT INTO rate_limits (scope, scope_id, per, property, max_requests, max_tokens, "
    "window_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (scope, scope_id, per, property) DO UPDATE SET "
    "max_requests = excluded.max_requests, max_tokens = excluded.max_tokens, "
    "window_ms = excluded.window_ms";
static const char SQL_RATE_DELETE[] =
    "DELETE FROM rate_limits WHERE scope = ?1 AND scope_id = ?2 AND per = ?3 AND property = ?4";

/* Lower-cased copy of a property name the tracking headers could carry, NULL if none could. */
static char *property_normalize(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PROPERTY_NAME_MAX)
        return NULL;
    char *low = g_ascii_strdown(name, -1);
    for (const char *c = low; *c != '\0'; c++) {
        if (!g_ascii_islower(*c) && !g_ascii_isdigit(*c) && *c != '_' && *c != '.' &&
            *c != '-') {
            g_free(low);
            return NULL;
        }
    }
    return low;
}

GwStatus gw_store_rate_limit_set(GwStore *st, const char *scope, const char *scope_name,
                                 const char *per, const char *property, gint64 max_requests,
                                 gint64 max_tokens, gint64 window_ms, GError **err)
{
    static const char *const pers[] = {"key", "ip", "session", "property"};
    gboolean per_ok = FALSE;
    for (gsize i = 0; per != NULL && i < G_N_ELEMENTS(pers); i++)
        per_ok = per_ok || strcmp(per, pers[i]) == 0;
    if (!per_ok)
        return gw_fail(err, GW_EINVAL, "rate limit: per must be key, ip, session or property");
    gboolean by_property = strcmp(per, "property") == 0;
    gboolean has_property = property != NULL && *property != '\0';
    if (by_property != has_property)
        return gw_fail(err, GW_EINVAL, by_property ? "rate limit per property: name the property"
                                                   : "rate limit: a property name needs "
                                                     "per = property");
    if (max_requests < -1 || max_tokens < -1)
        return gw_fail(err, GW_EINVAL, "rate limit: limits must be -1 (none) or at least 0");
    if (window_ms < WINDOW_MIN_MS || window_ms > WINDOW_MAX_MS)
        return gw_fail(err, GW_EINVAL, "rate limit: the window must be 1 second to 30 days");
    char *prop = g_strdup("");
    if (has_property) {
        g_free(prop);
        prop = property_normalize(property);
        if (prop == NULL)
            return gw_fail(err, GW_EINVAL,
                           "rate limit: property names are 1-%d of a-z 0-9 _ . -",
                           PROPERTY_NAME_MAX);
    }
    gint64 id = 0;
    GwStatus gs = scope_resolve(st, scope, scope_name, &id, err);
    const char *sc = scope_static(scope);
    if (gs == GW_OK && max_requests < 0 && max_tokens < 0)
        gs = exec_sql(st, SQL_RATE_DELETE, ARGS(PS(sc), PI(id), PS(per), PS(prop)),
                      "removing a rate limit", err);
    else if (gs == GW_OK)
        gs = exec_sql(st, SQL_RATE_UPSERT,
                      ARGS(PS(sc), PI(id), PS(per), PS(prop), PO(max_requests), PO(max_tokens),
                           PI(window_ms), PI(gw_store_now_ms())),
                      "setting a rate limit", err);
    g_free(prop);
    return gs;
}

static const char SQL_RATES_FOR[] =
    "SELECT id, scope, scope_id, per, property, max_requests, max_tokens, window_ms "
    "FROM rate_limits WHERE (scope = 'virtual_key' AND scope_id = ?1) "
    "OR (scope = 'agent' AND scope_id = ?2) OR (scope = 'department' AND scope_id = ?3) "
    "ORDER BY " SCOPE_ORDER_SQL("scope") ", per, property, id";

static gpointer rate_rule_copy(gconstpointer src, gpointer unused G_GNUC_UNUSED)
{
    const GwRateRule *r = src;
    GwRateRule *c = g_new0(GwRateRule, 1);
    *c = *r;
    c->scope = g_strdup(r->scope);
    c->per = g_strdup(r->per);
    c->property = g_strdup(r->property);
    return c;
}

static GwStatus rate_limits_for_key(GwStore *st, gint64 vk_id, gint64 agent_id,
                                    gint64 department_id, GPtrArray **out, GError **err);

GwStatus gw_store_rate_limits_for_key(GwStore *st, gint64 vk_id, gint64 agent_id,
                                      gint64 department_id, GPtrArray **out, GError **err)
{
    gint64 version = gw_store_config_version(st);
    char key[96];
    g_snprintf(key, sizeof key, "rates:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
               vk_id, agent_id, department_id);
    const GPtrArray *m = gw_store_memo_get(st, key, version);
    if (m != NULL) {
        *out = gw_store_memo_copy_array(m, rate_rule_copy, (GDestroyNotify)gw_rate_rule_free);
        return GW_OK;
    }
    GwStatus gs = rate_limits_for_key(st, vk_id, agent_id, department_id, out, err);
    if (gs == GW_OK)
        gw_store_memo_put(st, key, version,
                          gw_store_memo_copy_array(*out, rate_rule_copy,
                                                   (GDestroyNotify)gw_rate_rule_free),
                          (GDestroyNotify)g_ptr_array_unref);
    return gs;
}

static GwStatus rate_limits_for_key(GwStore *st, gint64 vk_id, gint64 agent_id,
                                    gint64 department_id, GPtrArray **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = stmt_open(st, SQL_RATES_FOR, ARGS(PID(vk_id), PID(agent_id),
                                                    PID(department_id)),
                            "reading rate limits", &s, err);
    if (gs != GW_OK)
        return gs;
    GPtrArray *arr = g_ptr_array_new_with_free_func((GDestroyNotify)gw_rate_rule_free);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        GwRateRule *r = g_new0(GwRateRule, 1);
        r->id = sqlite3_column_int64(s, 0);
        r->scope = g_strdup((const char *)sqlite3_column_text(s, 1));
        r->scope_id = sqlite3_column_int64(s, 2);
        r->per = g_strdup((const char *)sqlite3_column_text(s, 3));
        r->property = g_strdup((const char *)sqlite3_column_text(s, 4));
        r->max_requests = col_opt(s, 5);
        r->max_tokens = col_opt(s, 6);
        r->window_ms = sqlite3_column_int64(s, 7);
        g_ptr_array_add(arr, r);
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "reading rate limits", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        g_ptr_array_unref(arr);
        return gs;
    }
    *out = arr;
    return GW_OK;
}

static const char SQL_RATE_LIST[] =
    "SELECT r.id, r.scope, r.scope_id, " SCOPE_NAME_SQL("r.scope", "r.scope_id") ", r.per, "
    "r.property, r.max_requests, r.max_tokens, r.window_ms, r.created_at FROM rate_limits r "
    "ORDER BY " SCOPE_ORDER_SQL("r.scope") ", 4, r.per, r.property, r.id";

GwStatus gw_store_rate_limit_list_json(GwStore *st, json_t **out, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_RATE_LIST, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
        json_object_set_new(o, "scope", json_col_text(s, 1));
        json_object_set_new(o, "scope_id", json_integer(sqlite3_column_int64(s, 2)));
        json_object_set_new(o, "name", json_col_text(s, 3));
        json_object_set_new(o, "per", json_col_text(s, 4));
        json_object_set_new(o, "property", json_col_text(s, 5));
        json_object_set_new(o, "max_requests", json_opt(col_opt(s, 6)));
        json_object_set_new(o, "max_tokens", json_opt(col_opt(s, 7)));
        json_object_set_new(o, "window_ms", json_integer(sqlite3_column_int64(s, 8)));
        json_object_set_new(o, "created_at", json_integer(sqlite3_column_int64(s, 9)));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "listing rate limits", err);
    gw_store_done(s);
    if (gs != GW_OK) {
        json_decref(arr);
        return gs;
    }
    *out = arr;
    return GW_OK;
}

/* ---- model output limits ---- */

/* Same names as gw_store_price_find (exact, else each shorter "model-" prefix, longest first,
 * by the (model, effective_from) index), but the limit is a property of the model, not of a price
 * date: rows added later by price set carry none, so the newest row that records one wins. */
static const char SQL_MAX_OUTPUT[] =
    "SELECT max_output_tokens FROM model_prices WHERE model = ?1 "
    "AND max_output_tokens IS NOT NULL ORDER BY effective_from DESC LIMIT 1";

GwStatus gw_store_price_max_output(GwStore *st, const char *model, gint64 *out, GError **err)
{
    if (model == NULL || out == NULL)
        return gw_fail(err, GW_EINVAL, "output limit lookup: no model");
    *out = -1;
    gboolean found = FALSE;
    GwStatus gs = GW_OK;
    for (gsize len = strlen(model); len > 0 && !found && gs == GW_OK;
         len = gw_store_model_prefix(model, len)) {
        char *name = g_strndup(model, len);
        gs = query_i64(st, SQL_MAX_OUTPUT, ARGS(PS(name)), "looking up an output limit", out,
                       &found, err);
        g_free(name);
    }
    return gs;
}
