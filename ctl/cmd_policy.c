/* cmd_policy.c — alephantctl policy add | list | remove: request policies (kinds and configs in
 * lib/policy.h), registered in alephantctl.c's command table. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "conf.h"
#include "policy.h"
#include "store.h"

#define EXIT_USAGE 2
/* Config cells are cut to keep table rows on one line. */
#define CONFIG_CELL_MAX 60

/* Declared here as well as in alephantctl.c (no shared ctl header yet). */
int cmd_policy_add(int argc, char **argv);
int cmd_policy_list(int argc, char **argv);
int cmd_policy_remove(int argc, char **argv);

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

/* ---- helpers (alephantctl.c keeps its own static) ---- */

static int report(GError *err)
{
    fprintf(stderr, "alephantctl: %s\n", err != NULL ? err->message : "unknown error");
    g_clear_error(&err);
    return EXIT_FAILURE;
}

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\nTry '%s --help'.\n", g_get_prgname(), msg, g_get_prgname());
    g_free(msg);
    return EXIT_USAGE;
}

static int parse_options(const char *params, const char *summary, const char *description,
                         GOptionEntry *entries, int *argc, char ***argv)
{
    GOptionContext *ctx = g_option_context_new(params);
    g_option_context_set_summary(ctx, summary);
    if (description != NULL)
        g_option_context_set_description(ctx, description);
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *gerr = NULL;
    gboolean ok = g_option_context_parse(ctx, argc, argv, &gerr);
    g_option_context_free(ctx);
    if (!ok) {
        int rc = usage_error("%s", gerr->message);
        g_error_free(gerr);
        return rc;
    }
    return 0;
}

/* Policies need the database only (no master key). */
static GwStatus open_store(GwStore **out, GError **err)
{
    GwConf *conf = NULL;
    GwStatus gs = gw_conf_load(&conf, err);
    if (gs != GW_OK)
        return gs;
    if (g_mkdir_with_parents(conf->home, 0700) != 0)
        gs = gw_fail(err, GW_EIO, "cannot create home directory %s: %s", conf->home,
                     g_strerror(errno));
    GwStore *st = NULL;
    if (gs == GW_OK)
        gs = gw_store_open(conf->db_path, &st, err);
    if (gs == GW_OK)
        gs = gw_store_migrate(st, err);
    gw_conf_free(conf);
    if (gs != GW_OK) {
        gw_store_close(st);
        return gs;
    }
    *out = st;
    return GW_OK;
}

/* "global", "vk:NAME" (or "virtual_key:NAME"), "agent:NAME", "department:NAME". */
static gboolean parse_scope(const char *arg, const char **scope, const char **scope_name)
{
    static const struct {
        const char *prefix, *scope;
    } forms[] = {
        {"vk:", "virtual_key"},
        {"virtual_key:", "virtual_key"},
        {"agent:", "agent"},
        {"department:", "department"},
    };
    if (arg == NULL || strcmp(arg, "global") == 0) {
        *scope = "global";
        *scope_name = NULL;
        return TRUE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
        size_t n = strlen(forms[i].prefix);
        if (strncmp(arg, forms[i].prefix, n) == 0 && arg[n] != '\0') {
            *scope = forms[i].scope;
            *scope_name = arg + n;
            return TRUE;
        }
    }
    return FALSE;
}

/* Decimal only (GOption's INT also takes hex and octal). */
static gboolean parse_int(const char *text, int *out)
{
    gint64 v = 0;
    if (text == NULL || !g_ascii_string_to_signed(text, 10, G_MININT, G_MAXINT, &v, NULL))
        return FALSE;
    *out = (int)v;
    return TRUE;
}

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
    if (rc == 0 && argc > 1)
        rc = usage_error("unexpected argument '%s'", argv[1]);
    if (rc == 0 && (name == NULL || kind == NULL || config == NULL))
        rc = usage_error("--name, --kind and --config are required");
    if (rc == 0 && !gw_policy_kind_known(kind))
        rc = usage_error("unknown kind '%s' (see --help)", kind);
    if (rc == 0 && action != NULL && strcmp(action, "block") != 0 && strcmp(action, "flag") != 0)
        rc = usage_error("--action must be block or flag");
    if (rc == 0 && !parse_scope(scope_arg, &scope, &scope_name))
        rc = usage_error("--scope must be global, vk:NAME, agent:NAME or department:NAME");
    if (rc == 0 && position_s != NULL && !parse_int(position_s, &position))
        rc = usage_error("--position must be an integer");
    if (rc == 0) {
        GError *err = NULL;
        GwStore *st = NULL;
        gint64 id = 0;
        if (open_store(&st, &err) != GW_OK ||
            gw_store_policy_add(st, name, scope, scope_name, kind, config, action, position, &id,
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

/* Operator text may hold anything: control characters become '?', long text is cut. */
static char *cell(const char *s, glong max_chars)
{
    if (s == NULL || *s == '\0')
        return g_strdup("-");
    char *valid = g_utf8_make_valid(s, -1);
    GString *out = g_string_new(NULL);
    glong n = 0;
    for (const char *c = valid; *c != '\0'; c = g_utf8_next_char(c), n++) {
        if (n == max_chars) {
            g_string_append(out, "\u2026");
            break;
        }
        gunichar u = g_utf8_get_char(c);
        if (g_unichar_iscntrl(u))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, u);
    }
    g_free(valid);
    return g_string_free(out, FALSE);
}

static void print_table(GPtrArray *cells, guint ncols)
{
    glong *width = g_new0(glong, ncols);
    for (guint i = 0; i < cells->len; i++)
        width[i % ncols] = MAX(width[i % ncols], g_utf8_strlen(g_ptr_array_index(cells, i), -1));
    for (guint i = 0; i < cells->len; i++) {
        const char *s = g_ptr_array_index(cells, i);
        fputs(s, stdout);
        if (i % ncols + 1 == ncols)
            fputc('\n', stdout);
        else
            for (glong pad = width[i % ncols] - g_utf8_strlen(s, -1) + 2; pad > 0; pad--)
                fputc(' ', stdout);
    }
    g_free(width);
}

int cmd_policy_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "List policies in evaluation order.", NULL, entries, &argc,
                           &argv);
    if (rc == 0 && argc > 1)
        rc = usage_error("unexpected argument '%s'", argv[1]);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    GwStore *st = NULL;
    json_t *rows = NULL;
    if (open_store(&st, &err) != GW_OK || gw_store_policy_list_json(st, &rows, &err) != GW_OK) {
        gw_store_close(st);
        return report(err);
    }
    gw_store_close(st);
    if (as_json) {
        rc = json_dumpf(rows, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF
                 ? EXIT_FAILURE
                 : 0;
        json_decref(rows);
        return rc;
    }
    static const char *const head[] = {"NAME", "SCOPE", "KIND", "ACTION", "POS", "ENABLED",
                                       "CONFIG"};
    GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);
    for (gsize i = 0; i < G_N_ELEMENTS(head); i++)
        g_ptr_array_add(cells, g_strdup(head[i]));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *scope = json_string_value(json_object_get(r, "scope"));
        const char *scope_name = json_string_value(json_object_get(r, "scope_name"));
        char *scope_text =
            g_strcmp0(scope, "global") == 0 ? g_strdup("global")
            : g_strdup_printf("%s:%s", g_strcmp0(scope, "virtual_key") == 0 ? "vk" : scope,
                              scope_name != NULL ? scope_name : "(deleted)");
        char *config = json_dumps(json_object_get(r, "config"), JSON_COMPACT | JSON_ENCODE_ANY);
        g_ptr_array_add(cells, cell(json_string_value(json_object_get(r, "name")), 40));
        g_ptr_array_add(cells, cell(scope_text, 40));
        g_ptr_array_add(cells, cell(json_string_value(json_object_get(r, "kind")), 40));
        g_ptr_array_add(cells, cell(json_string_value(json_object_get(r, "action")), 40));
        g_ptr_array_add(cells, g_strdup_printf("%" JSON_INTEGER_FORMAT,
                                               json_integer_value(json_object_get(r, "position"))));
        g_ptr_array_add(cells,
                        g_strdup(json_is_true(json_object_get(r, "enabled")) ? "yes" : "no"));
        g_ptr_array_add(cells, cell(config, CONFIG_CELL_MAX));
        free(config);
        g_free(scope_text);
    }
    print_table(cells, G_N_ELEMENTS(head));
    g_ptr_array_unref(cells);
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
    if (rc == 0 && argc > 2)
        rc = usage_error("unexpected argument '%s'", argv[2]);
    if (rc == 0 && argc == 2) {
        if (name != NULL && strcmp(name, argv[1]) != 0)
            rc = usage_error("give the name once (--name or positional)");
        else if (name == NULL)
            name = g_strdup(argv[1]);
    }
    if (rc == 0 && name == NULL)
        rc = usage_error("--name is required");
    if (rc == 0) {
        GError *err = NULL;
        GwStore *st = NULL;
        if (open_store(&st, &err) != GW_OK || gw_store_policy_remove(st, name, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: policy '%s' removed\n", name);
        gw_store_close(st);
    }
    g_free(name);
    return rc;
}
