/* cmd_policy.c — alephantctl policy add | list | remove: request policies (kinds and configs in
 * lib/policy.h), registered in alephantctl.c's command table. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "conf.h"
#include "ctl.h"
#include "policy.h"
#include "ops_limits.h"
#include "store.h"

/* Text cells are cut shorter than the shared CELL_MAX_CHARS, leaving room for the config. */
#define TEXT_CELL_MAX 40

static const char KINDS_HELP[] =
    "Kinds and their --config (JSON):\n"
    "  model_allow          {\"models\": [\"gpt-4o*\", \"claude-3-5-*\"]}  globs with * and ?\n"
    "  model_deny           {\"models\": [\"o1*\"]}\n"
    "                       (case-insensitive; requests without a model pass)\n"
    "  ip_allow             {\"cidrs\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}  unknown IP blocks\n"
    "  ip_deny              {\"cidrs\": [\"192.0.2.0/24\"]}  unknown IP passes\n"
    "  country_allow        {\"countries\": [\"US\", \"DE\"]}  unknown country blocks\n"
    "  country_deny         {\"countries\": [\"KP\"]}  unknown country passes\n"
    "  max_tokens           {\"max\": 4096}  max_tokens / max_completion_tokens (absent passes)\n"
    "  max_request_bytes    {\"max\": 1048576}\n"
    "  max_messages         {\"max\": 50}\n"
    "  forbidden_params     {\"params\": [\"logit_bias\", \"tools\"]}  top-level body members\n"
    "  required_properties  {\"properties\": [\"environment\"]}  alephant-property-* headers\n"
    "  content_regex        {\"pattern\": \"\\\\b(?:\\\\d[ -]*?){13,16}\\\\b\",\n"
    "                        \"case_insensitive\": false, \"max_scan_bytes\": 2097152}\n"
    "                       searched in all message text; text over max_scan_bytes counts as a\n"
    "                       match\n"
    "  hours                {\"utc_hours\": \"9-17\"} or {\"utc_hours\": [[9, 17], [20, 22]]}\n"
    "                       allowed UTC hours [start, end); \"22-6\" wraps midnight\n"
    "A value equal to a max passes. Policies run global, department, agent, virtual key, then by\n"
    "position and id; the first block stops evaluation, flags are only recorded.";

/* ---- commands ---- */

int cmd_policy_add(int argc, char **argv)
{
    char *name = NULL, *kind = NULL, *config = NULL, *action = NULL, *scope_arg = NULL,
         *position_s = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name,
         "Policy name (1-128 of A-Z a-z 0-9 . _ -), unique", "NAME"},
        {"kind", 'k', 0, G_OPTION_ARG_STRING, &kind, "Policy kind (see below)", "KIND"},
        {"config", 'c', 0, G_OPTION_ARG_STRING, &config, "Configuration (JSON object)", "JSON"},
        {"action", 'a', 0, G_OPTION_ARG_STRING, &action,
         "block (refuse the request, default) or flag (record only)", "ACTION"},
        {"scope", 's', 0, G_OPTION_ARG_STRING, &scope_arg,
         "global (default), vk:NAME, agent:NAME or department:NAME", "SCOPE"},
        {"position", 'p', 0, G_OPTION_ARG_STRING, &position_s,
         "Order within the scope, lower first (default 0)", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "Add a request policy.", KINDS_HELP, entries, &argc, &argv);
    const char *scope = NULL, *scope_name = NULL;
    int position = 0;
    (void)scope_name;
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && (name == NULL || kind == NULL || config == NULL))
        rc = usage_error("--name, --kind and --config are required");
    if (rc == 0 && !gw_policy_kind_known(kind))
        rc = usage_error("unknown kind '%s' (see --help)", kind);
    if (rc == 0 && action != NULL && strcmp(action, "block") != 0 && strcmp(action, "flag") != 0)
        rc = usage_error("--action must be block or flag");
    if (rc == 0 && !gw_ops_policy_scope_parse(scope_arg, &scope, &scope_name))
        rc = usage_error("--scope must be global, vk:NAME, agent:NAME or department:NAME");
    if (rc == 0 && position_s != NULL && !parse_int(position_s, &position))
        rc = usage_error("--position must be an integer");
    if (rc == 0) {
        GError *err = NULL;
        GwStore *st = NULL;
        gint64 id = 0;
        GwOps ops = {0};
        if (ctl_open_store(&st, &err) == GW_OK)
            ops.store = st;
        if (ops.store == NULL ||
            gw_ops_policy_add(&ops, name, kind, config, action, scope_arg, position, &id,
                              &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: policy '%s' added (id %" G_GINT64_FORMAT ")\n", name,
                    id);
        gw_store_close(st);
    }
    g_free(name);
    g_free(kind);
    g_free(config);
    g_free(action);
    g_free(scope_arg);
    g_free(position_s);
    return rc;
}

int cmd_policy_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List policies in evaluation order.", &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_store_list_json(gw_store_policy_list_json, &rows, &err) != GW_OK)
        return report(err);
    if (as_json)
        return print_json(rows);
    static const char *const head[] = {"NAME", "SCOPE", "KIND", "ACTION", "POS", "ENABLED",
                                       "CONFIG"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *scope = jstr(r, "scope");
        const char *scope_name = jstr(r, "scope_name");
        char *scope_text =
            g_strcmp0(scope, "global") == 0
                ? g_strdup("global")
                : g_strdup_printf("%s:%s", scope_label(scope),
                                  scope_name != NULL ? scope_name : "(deleted)");
        char *config = json_dumps(json_object_get(r, "config"), JSON_COMPACT | JSON_ENCODE_ANY);
        table_take_max(t, g_strdup(jstr(r, "name")), TEXT_CELL_MAX);
        table_take_max(t, scope_text, TEXT_CELL_MAX);
        table_take_max(t, g_strdup(jstr(r, "kind")), TEXT_CELL_MAX);
        table_take_max(t, g_strdup(jstr(r, "action")), TEXT_CELL_MAX);
        table_take(t, g_strdup_printf("%" G_GINT64_FORMAT, jint_or(r, "position", 0)));
        table_add(t, json_is_true(json_object_get(r, "enabled")) ? "yes" : "no");
        table_take(t, g_strdup(config));
        free(config);
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

int cmd_policy_remove(int argc, char **argv)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Policy name", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Remove a policy (decisions already logged are kept).", NULL,
                           entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        GError *err = NULL;
        GwStore *st = NULL;
        if (ctl_open_store(&st, &err) != GW_OK || gw_store_policy_remove(st, name, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: policy '%s' removed\n", name);
        gw_store_close(st);
    }
    g_free(name);
    return rc;
}
