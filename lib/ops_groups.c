/* ops_groups.c — operator actions on agents and departments (see ops_groups.h). */
#include "config.h"
#include "ops_groups.h"

#include <string.h>

GwStatus gw_ops_agent_create(GwOps *ops, const char *name, const char *department, GError **err)
{
    GwStatus gs = gw_ops_check_name("agent", name, err);
    if (department != NULL && *department == '\0')
        department = NULL;
    if (gs == GW_OK && department != NULL)
        gs = gw_ops_check_name("department", department, err);
    if (gs == GW_OK)
        gs = gw_store_agent_add(ops->store, name, department, err);
    return gs;
}

GwStatus gw_ops_department_create(GwOps *ops, const char *name, GError **err)
{
    GwStatus gs = gw_ops_check_name("department", name, err);
    if (gs == GW_OK)
        gs = gw_store_department_add(ops->store, name, err);
    return gs;
}

GwStatus gw_ops_agent_delete(GwOps *ops, const char *name, GwGroupDeleted *out, GError **err)
{
    GwStatus gs = gw_ops_check_name("agent", name, err);
    if (gs == GW_OK)
        gs = gw_store_agent_delete(ops->store, name, out, err);
    return gs;
}

GwStatus gw_ops_department_delete(GwOps *ops, const char *name, GwGroupDeleted *out,
                                  GError **err)
{
    GwStatus gs = gw_ops_check_name("department", name, err);
    if (gs == GW_OK)
        gs = gw_store_department_delete(ops->store, name, out, err);
    return gs;
}

char *gw_ops_group_deleted_text(const char *what, const char *name, const GwGroupDeleted *d)
{
    GString *s = g_string_new(NULL);
    g_string_printf(s, "%c%s %s deleted", g_ascii_toupper(what[0]), what + 1, name);
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    if (d->budgets > 0)
        g_ptr_array_add(parts, g_strdup("its budget"));
    if (d->rate_limits > 0)
        g_ptr_array_add(parts, g_strdup_printf("%d rate limit%s", d->rate_limits,
                                               d->rate_limits == 1 ? "" : "s"));
    if (d->policies > 0)
        g_ptr_array_add(parts, g_strdup_printf("%d polic%s", d->policies,
                                               d->policies == 1 ? "y" : "ies"));
    for (guint i = 0; i < parts->len; i++)
        g_string_append_printf(s, "%s%s", i == 0 ? ", with " : i + 1 == parts->len ? " and " : ", ",
                               (const char *)g_ptr_array_index(parts, i));
    g_string_append_c(s, '.');
    g_ptr_array_unref(parts);
    return g_string_free(s, FALSE);
}

/* Adds "budget" and "rate_limits" of scope to each row of rows (matched by name). */
static GwStatus attach_limits(GwStore *st, const char *scope, json_t *rows, GError **err)
{
    json_t *budgets = NULL, *limits = NULL;
    GwStatus gs = gw_store_budget_list_json(st, &budgets, err);
    if (gs == GW_OK)
        gs = gw_store_rate_limit_list_json(st, &limits, err);
    size_t i, j;
    json_t *row, *b;
    if (gs == GW_OK) {
        json_array_foreach(rows, i, row) {
            const char *name = json_string_value(json_object_get(row, "name"));
            json_t *budget = json_null(), *rules = json_array();
            json_array_foreach(budgets, j, b) {
                if (g_strcmp0(json_string_value(json_object_get(b, "scope")), scope) == 0 &&
                    g_strcmp0(json_string_value(json_object_get(b, "name")), name) == 0)
                    budget = json_incref(b);
            }
            json_array_foreach(limits, j, b) {
                if (g_strcmp0(json_string_value(json_object_get(b, "scope")), scope) == 0 &&
                    g_strcmp0(json_string_value(json_object_get(b, "name")), name) == 0)
                    json_array_append(rules, b);
            }
            json_object_set_new(row, "budget", budget);
            json_object_set_new(row, "rate_limits", rules);
        }
    }
    json_decref(budgets);
    json_decref(limits);
    return gs;
}

GwStatus gw_ops_agents_json(GwStore *st, json_t **out, GError **err)
{
    json_t *rows = NULL;
    GwStatus gs = gw_store_agents_json(st, &rows, err);
    if (gs == GW_OK)
        gs = attach_limits(st, "agent", rows, err);
    if (gs == GW_OK)
        *out = rows;
    else
        json_decref(rows);
    return gs;
}

GwStatus gw_ops_departments_json(GwStore *st, json_t **out, GError **err)
{
    json_t *rows = NULL;
    GwStatus gs = gw_store_departments_json(st, &rows, err);
    if (gs == GW_OK)
        gs = attach_limits(st, "department", rows, err);
    if (gs == GW_OK)
        *out = rows;
    else
        json_decref(rows);
    return gs;
}
