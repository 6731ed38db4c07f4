/* cmd_groups.c — alephantctl commands for agents and departments on their own: `agent
 * create|list|delete`, `department create|list|delete` and `vk edit` (models, expiry, agent,
 * department of an existing key), through the same lib/ops*.c functions as the admin program. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <glib.h>
#include <jansson.h>

#include "cost.h"
#include "ctl.h"
#include "ops.h"
#include "ops_groups.h"

int cmd_agent_create(int argc, char **argv)
{
    char *name = NULL, *dept = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Agent name (1-64 of A-Z a-z 0-9 . _ -)",
         "NAME"},
        {"department", 'd', 0, G_OPTION_ARG_STRING, &dept, "Its department (must exist)", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Create an agent (an app, service or user owning virtual keys).",
                           "Budgets and rate limits: alephantctl agent update NAME …",
                           entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK || gw_ops_agent_create(&c.ops, name, dept, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: agent '%s' created\n", name);
        ctl_close(&c);
    }
    g_free(name);
    g_free(dept);
    return rc;
}

int cmd_department_create(int argc, char **argv)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name,
         "Department name (1-64 of A-Z a-z 0-9 . _ -)", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Create a department.",
                           "Budgets and rate limits: alephantctl department update NAME …",
                           entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK || gw_ops_department_create(&c.ops, name, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: department '%s' created\n", name);
        ctl_close(&c);
    }
    g_free(name);
    return rc;
}

static int group_delete(int argc, char **argv, gboolean agent)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, agent ? "Agent name" : "Department name",
         "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", agent ? "Delete an agent with its budget, rate limits and "
                                             "policies (refused while active keys use it)."
                                           : "Delete a department with its budget, rate limits "
                                             "and policies (refused while active keys or agents "
                                             "use it).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        GwGroupDeleted d;
        if (ctl_open(&c, &err) != GW_OK ||
            (agent ? gw_ops_agent_delete(&c.ops, name, &d, &err)
                   : gw_ops_department_delete(&c.ops, name, &d, &err)) != GW_OK) {
            rc = report(err);
        } else {
            char *msg = gw_ops_group_deleted_text(agent ? "agent" : "department", name, &d);
            fprintf(stderr, "alephantctl: %s\n", msg);
            g_free(msg);
        }
        ctl_close(&c);
    }
    g_free(name);
    return rc;
}

int cmd_agent_delete(int argc, char **argv) { return group_delete(argc, argv, TRUE); }
int cmd_department_delete(int argc, char **argv) { return group_delete(argc, argv, FALSE); }

/* "a, b" from a JSON array of names; "-" when empty (caller frees). */
static char *names_cell(json_t *arr)
{
    GString *s = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        g_string_append_printf(s, "%s%s", i > 0 ? ", " : "", json_string_value(v));
    return g_string_free(s, FALSE);
}

/* "1.20 of 50.00 USD (monthly)" from a row's budget, "-" without one (caller frees). */
static char *budget_cell(json_t *row)
{
    json_t *b = json_object_get(row, "budget");
    if (!json_is_object(b))
        return g_strdup("-");
    gint64 hard = jint_or(b, "hard_limit_nanos", -1), soft = jint_or(b, "soft_limit_nanos", -1);
    char *spent = gw_cost_format_usd(jint_or(b, "spent_nanos", 0));
    char *limit = gw_cost_format_usd(hard >= 0 ? hard : soft);
    char *s = g_strdup_printf("%s of %s USD%s (%s)", spent, limit, hard >= 0 ? "" : " soft",
                              jstr(b, "period"));
    g_free(spent);
    g_free(limit);
    return s;
}

static int group_list(int argc, char **argv, gboolean agent)
{
    gboolean as_json = FALSE;
    int rc = list_options(agent ? "List agents with their department, keys and spend."
                                : "List departments with their agents, keys and spend.",
                          &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    json_t *rows = NULL;
    GError *err = NULL;
    GwStore *st = NULL;
    if (ctl_open_store(&st, &err) != GW_OK)
        return report(err);
    GwStatus gs = agent ? gw_ops_agents_json(st, &rows, &err) : gw_ops_departments_json(st, &rows,
                                                                                       &err);
    gw_store_close(st);
    if (gs != GW_OK)
        return report(err);
    if (as_json)
        return print_json(rows);
    const char *agent_head[] = {"AGENT", "DEPARTMENT", "ACTIVE KEYS", "SPEND THIS PERIOD",
                                "CREATED"};
    const char *dept_head[] = {"DEPARTMENT", "AGENTS", "ACTIVE KEYS", "SPEND THIS PERIOD",
                               "CREATED"};
    Table *t = table_new(agent ? agent_head : dept_head, 5);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, jstr(r, "name"));
        if (agent)
            table_add(t, jstr(r, "department"));
        else
            table_take(t, names_cell(json_object_get(r, "agents")));
        table_take(t, names_cell(json_object_get(r, "virtual_keys")));
        table_take(t, budget_cell(r));
        table_take(t, fmt_time(jint_or(r, "created_at", 0)));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

int cmd_agent_list(int argc, char **argv) { return group_list(argc, argv, TRUE); }
int cmd_department_list(int argc, char **argv) { return group_list(argc, argv, FALSE); }

int cmd_vk_edit(int argc, char **argv)
{
    char *name = NULL, *models = NULL, *expires = NULL, *agent = NULL, *dept = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Virtual key name", "NAME"},
        {"models", 'm', 0, G_OPTION_ARG_STRING, &models,
         "Allowed models, comma-separated (\"\" or any: every model)", "LIST"},
        {"expires", 'e', 0, G_OPTION_ARG_STRING, &expires,
         "Expiry, ISO 8601 date or date-time in UTC (\"\" or never: none)", "WHEN"},
        {"agent", 'a', 0, G_OPTION_ARG_STRING, &agent, "Agent (must exist; \"\": none)", "NAME"},
        {"department", 'd', 0, G_OPTION_ARG_STRING, &dept,
         "Department (must exist; \"\": none)", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Change an existing virtual key's models, expiry, agent or "
                                     "department (options not given keep their value).",
                           "Budgets and rate limits: alephantctl vk update NAME …", entries,
                           &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0 && models == NULL && expires == NULL && agent == NULL && dept == NULL)
        rc = usage_error("nothing to change: give --models, --expires, --agent or --department");
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        GwVkEditText t = {models, expires, agent, dept};
        if (ctl_open(&c, &err) != GW_OK || gw_ops_vk_edit(&c.ops, name, &t, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: virtual key '%s' changed\n", name);
        ctl_close(&c);
    }
    g_free(name);
    g_free(models);
    g_free(expires);
    g_free(agent);
    g_free(dept);
    return rc;
}
