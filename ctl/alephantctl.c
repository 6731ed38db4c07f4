/* alephantctl.c — operator CLI: provider keys, virtual keys and their routing targets, prices,
 * request logs and sessions, and prompt templates, working on the same
 * configuration, database and master key as the gateway. Secrets are only ever read from stdin
 * and never printed; tokens are printed once, by `vk create`, alone on stdout. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <glib.h>
#include <jansson.h>

#include "conf.h"
#include "cost.h"
#include "crypto.h"
#include "ctl.h"
#include "ops.h"
#include "ops_view.h"
#include "ops_limits.h"
#include "prompt.h"
#include "store.h"

/* Bytes read from stdin for a secret; the ops layer enforces the real 4096-byte limit. */
#define SECRET_READ_MAX 8192
#define LOGS_DEFAULT_LIMIT 50
#define LOGS_MAX_LIMIT 100000
/* Rows per gw_store_log_query_json call (its maximum) when paging through filtered logs. */
#define LOGS_QUERY_PAGE 1000
#define SESSIONS_DEFAULT_LIMIT 50
#define SESSIONS_MAX_LIMIT 1000
/* The store refuses larger templates; reading one byte more tells "too big" from "just fits". */
#define PROMPT_TEMPLATE_MAX (256 * 1024)

/* ---- small helpers ---- */

static void wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* Reads the secret from stdin and strips one trailing "\n" or "\r\n". On a terminal it reads one
 * line with echo off. *out is freed with gw_secret_free. (Declared in ctl.h for cmd_admin.c.) */
GwStatus read_secret(char **out, GError **err)
{
    char *buf = g_malloc(SECRET_READ_MAX + 1);
    size_t len = 0;
    gboolean tty = isatty(STDIN_FILENO);
    struct termios saved;
    gboolean echo_off = FALSE;
    if (tty) {
        fputs("Secret (input hidden): ", stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
            struct termios quiet = saved;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
    }
    GwStatus gs = GW_OK;
    for (;;) {
        if (len == SECRET_READ_MAX) {
            gs = gw_fail(err, GW_ETOOBIG, "the secret on stdin is too long");
            break;
        }
        /* One byte at a time on a terminal so reading stops at the end of the line. */
        ssize_t n = read(STDIN_FILENO, buf + len, tty ? 1 : SECRET_READ_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            gs = gw_fail(err, GW_EIO, "cannot read the secret from stdin: %s", g_strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (tty && buf[len - 1] == '\n')
            break;
    }
    if (echo_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (tty)
        fputc('\n', stderr);
    if (gs == GW_OK && len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (gs == GW_OK && memchr(buf, '\0', len) != NULL)
        gs = gw_fail(err, GW_EINVAL, "the secret contains a NUL byte");
    if (gs != GW_OK) {
        wipe(buf, SECRET_READ_MAX);
        g_free(buf);
        return gs;
    }
    buf[len] = '\0';
    *out = buf;
    return GW_OK;
}

static void free_secret(char *secret)
{
    gw_secret_free(secret);
}

static json_t *json_str_or_null(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;
    return j != NULL ? j : json_null();
}

/* ---- commands ---- */

static int cmd_init(int argc, char **argv)
{
    GOptionEntry entries[] = {{NULL, 0, 0, 0, NULL, NULL, NULL}};
    int rc = parse_options(NULL, "Create the home directory, database and master key (idempotent).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    int version = 0;
    if (ctl_open(&c, &err) != GW_OK || gw_store_schema_version(c.store, &version, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    fprintf(stderr, "alephantctl: ready in %s (schema version %d)\n", c.conf->home, version);
    ctl_close(&c);
    return 0;
}

static int cmd_pk_add(int argc, char **argv)
{
    char *name = NULL, *provider = NULL, *base_url = NULL, *api_version = NULL;
    gboolean key_stdin = FALSE;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Name (1-64 of A-Z a-z 0-9 . _ -)", "NAME"},
        {"provider", 'p', 0, G_OPTION_ARG_STRING, &provider,
         "openai, anthropic, azure, gemini, openai-compatible or mock", "KIND"},
        {"base-url", 0, 0, G_OPTION_ARG_STRING, &base_url,
         "Upstream base URL (default: the provider's; required for openai-compatible, and for "
         "azure the resource endpoint https://NAME.openai.azure.com)",
         "URL"},
        {"api-version", 0, 0, G_OPTION_ARG_STRING, &api_version,
         "Azure OpenAI api-version, e.g. 2024-10-21 (required for azure only)", "V"},
        {"key-stdin", 0, 0, G_OPTION_ARG_NONE, &key_stdin,
         "Read the secret from standard input (required except for mock)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "Add an upstream provider key. The secret is read from stdin.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && name == NULL)
        rc = usage_error("--name is required");
    if (rc == 0 && provider == NULL)
        rc = usage_error("--provider is required");
    /* Never from argv: command lines end up in shell history and ps output. */
    if (rc == 0 && !key_stdin && strcmp(provider, "mock") != 0)
        rc = usage_error("--key-stdin is required: pipe the secret on standard input");

    char *secret = NULL;
    GError *err = NULL;
    Ctl c = {0};
    if (rc == 0 && key_stdin && read_secret(&secret, &err) != GW_OK)
        rc = report(err);
    if (rc == 0) {
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_provider_key_add(&c.ops, name, provider, base_url, api_version, secret,
                                    &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: provider key '%s' added\n", name);
        ctl_close(&c);
    }
    free_secret(secret);
    g_free(name);
    g_free(provider);
    g_free(base_url);
    g_free(api_version);
    return rc;
}

static int cmd_pk_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List provider keys (secrets are never shown, only a hint).",
                          &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    GPtrArray *keys = NULL;
    if (ctl_open(&c, &err) != GW_OK || gw_store_provider_key_list(c.store, &keys, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    if (as_json) {
        json_t *arr = json_array();
        for (guint i = 0; i < keys->len; i++)
            json_array_append_new(arr, gw_provider_key_json(g_ptr_array_index(keys, i)));
        rc = print_json(arr);
    } else {
        const char *head[] = {"NAME",    "PROVIDER", "BASE URL", "API VERSION",
                              "KEY",     "CREATED",  "ROTATED",  "VKS"};
        Table *t = table_new(head, G_N_ELEMENTS(head));
        for (guint i = 0; i < keys->len; i++) {
            const GwProviderKey *pk = g_ptr_array_index(keys, i);
            const char *def = gw_provider_default_base_url(pk->provider);
            table_add(t, pk->name);
            table_add(t, pk->provider);
            table_take(t, pk->base_url != NULL ? g_strdup(pk->base_url)
                          : def != NULL        ? g_strdup_printf("%s (default)", def)
                                               : NULL);
            table_add(t, pk->api_version);
            table_add(t, pk->secret_hint);
            table_take(t, fmt_time(pk->created_at));
            table_take(t, fmt_time(pk->rotated_at));
            table_take(t, g_strdup_printf("%d", pk->vk_count));
        }
        table_print(t);
    }
    g_ptr_array_unref(keys);
    ctl_close(&c);
    return rc;
}

static int cmd_pk_rotate(int argc, char **argv)
{
    char *name = NULL;
    gboolean key_stdin = FALSE;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Provider key name", "NAME"},
        {"key-stdin", 0, 0, G_OPTION_ARG_NONE, &key_stdin,
         "Read the new secret from standard input (required)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Replace a provider key's secret (read from stdin).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0 && !key_stdin)
        rc = usage_error("--key-stdin is required: pipe the new secret on standard input");
    char *secret = NULL;
    GError *err = NULL;
    Ctl c = {0};
    if (rc == 0 && read_secret(&secret, &err) != GW_OK)
        rc = report(err);
    if (rc == 0) {
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_provider_key_rotate(&c.ops, name, secret, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: provider key '%s' rotated\n", name);
        ctl_close(&c);
    }
    free_secret(secret);
    g_free(name);
    return rc;
}

static int cmd_pk_delete(int argc, char **argv)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Provider key name", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]",
                           "Delete a provider key (refused while a virtual key or routing "
                           "target refers to it).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK || gw_ops_provider_key_delete(&c.ops, name, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: provider key '%s' deleted\n", name);
        ctl_close(&c);
    }
    g_free(name);
    return rc;
}

static int cmd_vk_create(int argc, char **argv)
{
    char *name = NULL, *pk = NULL, *models = NULL, *dept = NULL, *agent = NULL, *expires = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Name (1-64 of A-Z a-z 0-9 . _ -)", "NAME"},
        {"provider-key", 'k', 0, G_OPTION_ARG_STRING, &pk, "Provider key to use", "NAME"},
        {"models", 'm', 0, G_OPTION_ARG_STRING, &models,
         "Comma-separated models this key may use (default: any)", "M1,M2"},
        {"department", 'd', 0, G_OPTION_ARG_STRING, &dept,
         "Department (created if new)", "NAME"},
        {"agent", 'a', 0, G_OPTION_ARG_STRING, &agent, "Agent (created if new)", "NAME"},
        {"expires", 'e', 0, G_OPTION_ARG_STRING, &expires,
         "Expiry, ISO 8601 (UTC unless a zone is given), e.g. 2027-01-01", "WHEN"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL,
                           "Create a virtual key. Its token is printed once on stdout and "
                           "cannot be shown again.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && name == NULL)
        rc = usage_error("--name is required");
    if (rc == 0 && pk == NULL)
        rc = usage_error("--provider-key is required");
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        char *token = NULL;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_vk_create(&c.ops, name, pk, models, dept, agent, expires, &token, &err) !=
                GW_OK) {
            rc = report(err);
        } else {
            printf("%s\n", token);
            if (fflush(stdout) != 0) {
                /* The key exists but nobody got its token: revoke it rather than leave it. */
                GError *rerr = NULL;
                gw_ops_vk_revoke(&c.ops, name, &rerr);
                g_clear_error(&rerr);
                fprintf(stderr, "alephantctl: cannot write the token (key revoked): %s\n",
                        g_strerror(errno));
                rc = EXIT_FAILURE;
            } else if (isatty(STDOUT_FILENO)) {
                fprintf(stderr, "alephantctl: virtual key '%s' created; keep the token above, "
                                "it is not shown again\n", name);
            }
        }
        gw_secret_free(token);
        ctl_close(&c);
    }
    g_free(name);
    g_free(pk);
    g_free(models);
    g_free(dept);
    g_free(agent);
    g_free(expires);
    return rc;
}

static const char *vk_display_status(const GwVirtualKey *vk, gint64 now)
{
    if (g_strcmp0(vk->status, "active") == 0 && vk->expires_at > 0 && vk->expires_at <= now)
        return "expired";
    return vk->status;
}

/* ---- routing targets ---- */

/* "pk1(p0,w1), pk2(p1,w1,map)": priority, weight, and whether a model map applies. */
static char *targets_compact(const GPtrArray *targets)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < targets->len; i++) {
        const GwTarget *t = g_ptr_array_index(targets, i);
        g_string_append_printf(out, "%s%s(p%d,w%d%s)", i > 0 ? ", " : "", t->provider_key_name,
                               t->priority, t->weight, t->model_map != NULL ? ",map" : "");
    }
    return g_string_free(out, FALSE);
}

/* Targets of every key in keys, index-aligned (GPtrArray of GPtrArray*). */
static GwStatus all_targets(GwStore *st, const GPtrArray *keys, GPtrArray **out, GError **err)
{
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; i < keys->len; i++) {
        const GwVirtualKey *vk = g_ptr_array_index(keys, i);
        GPtrArray *targets = NULL;
        GwStatus gs = gw_store_vk_targets(st, vk->id, &targets, err);
        if (gs != GW_OK) {
            g_ptr_array_unref(all);
            return gs;
        }
        g_ptr_array_add(all, targets);
    }
    *out = all;
    return GW_OK;
}

static int cmd_vk_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List virtual keys (tokens are never shown, only a prefix).",
                          &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    GPtrArray *keys = NULL, *targets = NULL;
    if (ctl_open(&c, &err) != GW_OK || gw_store_vk_list(c.store, &keys, &err) != GW_OK ||
        all_targets(c.store, keys, &targets, &err) != GW_OK) {
        if (keys != NULL)
            g_ptr_array_unref(keys);
        ctl_close(&c);
        return report(err);
    }
    gint64 now = g_get_real_time() / 1000;
    if (as_json) {
        json_t *arr = json_array();
        for (guint i = 0; i < keys->len; i++)
            json_array_append_new(arr, gw_virtual_key_json(g_ptr_array_index(keys, i),
                                                           g_ptr_array_index(targets, i), now));
        rc = print_json(arr);
    } else {
        const char *head[] = {"NAME",   "PREFIX",     "TARGETS", "MODELS",  "AGENT",
                              "DEPARTMENT", "STATUS", "EXPIRES", "CREATED", "LAST USED"};
        Table *t = table_new(head, G_N_ELEMENTS(head));
        for (guint i = 0; i < keys->len; i++) {
            const GwVirtualKey *vk = g_ptr_array_index(keys, i);
            table_add(t, vk->name);
            table_take(t, g_strconcat(vk->token_prefix, "\u2026", NULL));
            table_take(t, targets_compact(g_ptr_array_index(targets, i)));
            table_take(t, vk->allowed_models != NULL ? g_strjoinv(",", vk->allowed_models)
                                                     : g_strdup("(any)"));
            table_add(t, vk->agent_name);
            table_add(t, vk->department_name);
            table_add(t, vk_display_status(vk, now));
            table_take(t, vk->expires_at > 0 ? fmt_time(vk->expires_at) : g_strdup("never"));
            table_take(t, fmt_time(vk->created_at));
            table_take(t, vk->last_used_at > 0 ? fmt_time(vk->last_used_at) : g_strdup("never"));
        }
        table_print(t);
    }
    g_ptr_array_unref(targets);
    g_ptr_array_unref(keys);
    ctl_close(&c);
    return rc;
}

static int cmd_vk_revoke(int argc, char **argv)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Virtual key name", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Revoke a virtual key (takes effect on the next request).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK || gw_ops_vk_revoke(&c.ops, name, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: virtual key '%s' revoked\n", name);
        ctl_close(&c);
    }
    g_free(name);
    return rc;
}

/* Finds a virtual key by name (for its id). */
static GwStatus vk_by_name(GwStore *st, const char *name, gint64 *id_out, GError **err)
{
    GPtrArray *keys = NULL;
    GwStatus gs = gw_store_vk_list(st, &keys, err);
    if (gs != GW_OK)
        return gs;
    gs = gw_fail(err, GW_ENOTFOUND, "virtual key '%s' not found", name);
    for (guint i = 0; i < keys->len; i++) {
        const GwVirtualKey *vk = g_ptr_array_index(keys, i);
        if (g_strcmp0(vk->name, name) == 0) {
            g_clear_error(err);
            *id_out = vk->id;
            gs = GW_OK;
            break;
        }
    }
    g_ptr_array_unref(keys);
    return gs;
}

static int cmd_vk_target_list(int argc, char **argv)
{
    char *name = NULL;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Virtual key name", "NAME"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]",
                           "List a virtual key's routing targets: lower priority first; weight "
                           "shares traffic among equal priorities.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc != 0) {
        g_free(name);
        return rc;
    }
    Ctl c;
    GError *err = NULL;
    gint64 vk_id = 0;
    GPtrArray *targets = NULL;
    if (ctl_open(&c, &err) != GW_OK || vk_by_name(c.store, name, &vk_id, &err) != GW_OK ||
        gw_store_vk_targets(c.store, vk_id, &targets, &err) != GW_OK) {
        ctl_close(&c);
        g_free(name);
        return report(err);
    }
    if (as_json) {
        rc = print_json(gw_targets_json(targets));
    } else {
        const char *head[] = {"PROVIDER KEY", "PROVIDER", "PRIORITY", "WEIGHT", "MODEL MAP"};
        Table *t = table_new(head, G_N_ELEMENTS(head));
        for (guint i = 0; i < targets->len; i++) {
            const GwTarget *tg = g_ptr_array_index(targets, i);
            table_add(t, tg->provider_key_name);
            table_add(t, tg->provider);
            table_take(t, g_strdup_printf("%d", tg->priority));
            table_take(t, g_strdup_printf("%d", tg->weight));
            /* "from=to,…" like the --model-map input; Jansson's text would be escaped JSON. */
            GString *map = g_string_new(NULL);
            const char *from;
            json_t *to;
            json_object_foreach(tg->model_map, from, to)
                g_string_append_printf(map, "%s%s=%s", map->len > 0 ? "," : "", from,
                                       json_string_value(to));
            table_take(t, g_string_free(map, FALSE));
        }
        table_print(t);
    }
    g_ptr_array_unref(targets);
    ctl_close(&c);
    g_free(name);
    return rc;
}

static int cmd_vk_target_set(int argc, char **argv)
{
    char *name = NULL, *pk = NULL, *priority_s = NULL, *weight_s = NULL, *map_arg = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Virtual key name", "NAME"},
        {"provider-key", 'k', 0, G_OPTION_ARG_STRING, &pk, "Provider key to route to", "PK"},
        {"priority", 0, 0, G_OPTION_ARG_STRING, &priority_s,
         "Lower is tried first (default 0)", "N"},
        {"weight", 0, 0, G_OPTION_ARG_STRING, &weight_s,
         "Share among equal priorities, 0-1000; 0 = only as a fallback (default 1)", "N"},
        {"model-map", 0, 0, G_OPTION_ARG_STRING, &map_arg,
         "Model names to send this provider instead of the client's (replaces the map; \"\" "
         "clears it)",
         "FROM=TO,FROM2=TO2"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]",
                           "Add a routing target to a virtual key, or update it (priority, "
                           "weight and model map are set as given, defaults otherwise).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0 && pk == NULL)
        rc = usage_error("--provider-key is required");
    int priority = 0, weight = 1;
    if (rc == 0 && priority_s != NULL && !parse_int(priority_s, &priority))
        rc = usage_error("--priority must be an integer");
    if (rc == 0 && weight_s != NULL && (!parse_int(weight_s, &weight) || weight < 0 ||
                                        weight > 1000))
        rc = usage_error("--weight must be an integer from 0 to 1000");
    char *map_json = NULL;
    if (rc == 0 && map_arg != NULL && *map_arg != '\0') {
        /* Checked before opening anything, so a typo is a usage error. */
        GError *merr = NULL;
        if (gw_ops_model_map_parse(map_arg, &map_json, &merr) != GW_OK) {
            rc = usage_error("--model-map: %s", merr->message);
            g_error_free(merr);
        }
    }
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_ops_vk_target_set(&c.ops, name, pk, priority, weight, map_arg, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: '%s' routes to '%s' (priority %d, weight %d)\n", name,
                    pk, priority, weight);
        ctl_close(&c);
    }
    g_free(map_json);
    g_free(name);
    g_free(pk);
    g_free(priority_s);
    g_free(weight_s);
    g_free(map_arg);
    return rc;
}

static int cmd_vk_target_remove(int argc, char **argv)
{
    char *name = NULL, *pk = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Virtual key name", "NAME"},
        {"provider-key", 'k', 0, G_OPTION_ARG_STRING, &pk, "Target to remove", "PK"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]",
                           "Remove a routing target from a virtual key (refused for its last "
                           "one).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0 && pk == NULL)
        rc = usage_error("--provider-key is required");
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_store_vk_target_remove(c.store, name, pk, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: '%s' no longer routes to '%s'\n", name, pk);
        ctl_close(&c);
    }
    g_free(name);
    g_free(pk);
    return rc;
}

/* ---- prices ---- */

/* Nano-dollars per million tokens → "0.15", "2.50", "10.00": the decimal text without trailing
 * zeros beyond cents. Caller frees. */
static char *fmt_usd_per_mtok(gint64 nanos)
{
    char *s = gw_cost_format_usd(nanos);
    char *dot = strchr(s, '.');
    if (dot != NULL) {
        char *end = s + strlen(s);
        while (end > dot + 3 && end[-1] == '0')
            end--;
        *end = '\0';
    }
    return s;
}

static int cmd_price_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json,
         "Print a JSON array (amounts in nano-dollars per million tokens and as USD text)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL,
                           "List model prices in USD per million tokens, with the date each "
                           "row takes effect. A dated model (gpt-4o-mini-2024-07-18) uses its "
                           "base model's row.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    GPtrArray *prices = NULL;
    if (ctl_open(&c, &err) != GW_OK || gw_store_price_list(c.store, &prices, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    if (as_json) {
        json_t *arr = json_array();
        for (guint i = 0; i < prices->len; i++) {
            const GwPrice *p = g_ptr_array_index(prices, i);
            json_t *o = json_object();
            gboolean cached = p->cached_input_per_mtok >= 0;
            char *in = fmt_usd_per_mtok(p->input_per_mtok);
            char *out = fmt_usd_per_mtok(p->output_per_mtok);
            char *cin = cached ? fmt_usd_per_mtok(p->cached_input_per_mtok) : NULL;
            json_object_set_new(o, "model", json_str_or_null(p->model));
            json_object_set_new(o, "provider", json_str_or_null(p->provider));
            json_object_set_new(o, "input_per_mtok", json_integer(p->input_per_mtok));
            json_object_set_new(o, "output_per_mtok", json_integer(p->output_per_mtok));
            json_object_set_new(o, "cached_input_per_mtok",
                                cached ? json_integer(p->cached_input_per_mtok) : json_null());
            json_object_set_new(o, "input_usd", json_str_or_null(in));
            json_object_set_new(o, "output_usd", json_str_or_null(out));
            json_object_set_new(o, "cached_input_usd", json_str_or_null(cin));
            json_object_set_new(o, "effective_from", json_integer(p->effective_from));
            json_array_append_new(arr, o);
            g_free(in);
            g_free(out);
            g_free(cin);
        }
        rc = print_json(arr);
    } else {
        const char *head[] = {"MODEL",        "PROVIDER",      "INPUT $/M",
                              "OUTPUT $/M",   "CACHED IN $/M", "EFFECTIVE"};
        Table *t = table_new(head, G_N_ELEMENTS(head));
        for (guint i = 0; i < prices->len; i++) {
            const GwPrice *p = g_ptr_array_index(prices, i);
            table_add(t, p->model);
            table_add(t, p->provider);
            table_take(t, fmt_usd_per_mtok(p->input_per_mtok));
            table_take(t, fmt_usd_per_mtok(p->output_per_mtok));
            table_take(t, p->cached_input_per_mtok >= 0
                              ? fmt_usd_per_mtok(p->cached_input_per_mtok)
                              : g_strdup("(input)"));
            /* 1970 (0) is a legal "always" date; fmt_time would show it as never. */
            table_take(t, p->effective_from > 0 ? fmt_time(p->effective_from)
                                                : g_strdup("1970-01-01T00:00:00Z"));
        }
        table_print(t);
    }
    g_ptr_array_unref(prices);
    ctl_close(&c);
    return rc;
}

/* "now", or ISO 8601 (UTC unless a zone is given; a bare date is midnight UTC) → Unix ms. */
static gboolean parse_when(const char *text, gint64 *ms_out)
{
    if (text == NULL || strcmp(text, "now") == 0) {
        *ms_out = g_get_real_time() / 1000;
        return TRUE;
    }
    char *s = g_strstrip(g_strdup(text));
    if (*s != '\0' && strpbrk(s, "Tt ") == NULL) {
        char *full = g_strconcat(s, "T00:00:00", NULL);
        g_free(s);
        s = full;
    }
    GTimeZone *utc = g_time_zone_new_utc();
    GDateTime *dt = g_date_time_new_from_iso8601(s, utc);
    g_time_zone_unref(utc);
    g_free(s);
    if (dt == NULL)
        return FALSE;
    *ms_out = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    g_date_time_unref(dt);
    return TRUE;
}

static int cmd_price_set(int argc, char **argv)
{
    char *model = NULL, *provider = NULL, *in_s = NULL, *out_s = NULL, *cached_s = NULL;
    char *when = NULL;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_STRING, &model,
         "Model id; dated variants (MODEL-2024-07-18) use this row too", "MODEL"},
        {"provider", 'p', 0, G_OPTION_ARG_STRING, &provider,
         "Provider family (openai, anthropic, gemini, mistral, …)", "NAME"},
        {"input", 0, 0, G_OPTION_ARG_STRING, &in_s, "USD per million input tokens", "USD"},
        {"output", 0, 0, G_OPTION_ARG_STRING, &out_s, "USD per million output tokens", "USD"},
        {"cached-input", 0, 0, G_OPTION_ARG_STRING, &cached_s,
         "USD per million cached input tokens (default: the input price)", "USD"},
        {"effective", 0, 0, G_OPTION_ARG_STRING, &when,
         "When the price takes effect: ISO 8601 (UTC unless a zone is given) or now (default)",
         "WHEN"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL,
                           "Set a model's price from a date on (replaces the row with the same "
                           "model and date). Amounts are decimal USD per million tokens with at "
                           "most 9 decimals, e.g. 0.15.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && (model == NULL || provider == NULL || in_s == NULL || out_s == NULL))
        rc = usage_error("--model, --provider, --input and --output are required");
    GwPrice p = {.cached_input_per_mtok = -1};
    if (rc == 0 && (!gw_cost_parse_usd(in_s, &p.input_per_mtok) ||
                    !gw_cost_parse_usd(out_s, &p.output_per_mtok) ||
                    (cached_s != NULL && !gw_cost_parse_usd(cached_s, &p.cached_input_per_mtok))))
        rc = usage_error("amounts are decimal USD per million tokens, 0 to 1000000 with at most "
                         "9 decimals (e.g. 0.15)");
    if (rc == 0 && !parse_when(when, &p.effective_from))
        rc = usage_error("--effective is not 'now' or an ISO 8601 date or date-time "
                         "(e.g. 2025-08-01 or 2025-08-01T00:00:00Z)");
    if (rc == 0) {
        p.model = model;
        p.provider = provider;
        Ctl c;
        GError *err = NULL;
        if (ctl_open(&c, &err) != GW_OK || gw_store_price_set(c.store, &p, &err) != GW_OK) {
            rc = report(err);
        } else {
            char *date = fmt_time(p.effective_from);
            fprintf(stderr, "alephantctl: price of '%s' set from %s\n", model, date);
            g_free(date);
        }
        ctl_close(&c);
    }
    g_free(model);
    g_free(provider);
    g_free(in_s);
    g_free(out_s);
    g_free(cached_s);
    g_free(when);
    return rc;
}

static char *jint(json_t *o, const char *key, const char *suffix)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return g_strdup("-");
    return g_strdup_printf("%" JSON_INTEGER_FORMAT "%s", json_integer_value(v), suffix);
}

/* Filtered logs, newest first by id: keyset pages of at most LOGS_QUERY_PAGE rows until limit
 * rows or the end (*out: one array). */
static GwStatus logs_query_all(GwStore *st, GwLogQuery *q, int limit, json_t **out, GError **err)
{
    json_t *all = json_array();
    while ((int)json_array_size(all) < limit) {
        json_t *page = NULL;
        q->limit = MIN(limit - (int)json_array_size(all), LOGS_QUERY_PAGE);
        GwStatus gs = gw_store_log_query_json(st, q, &page, err);
        if (gs != GW_OK) {
            json_decref(all);
            return gs;
        }
        size_t n = json_array_size(page);
        if (n > 0)
            q->before_id = json_integer_value(json_object_get(json_array_get(page, n - 1), "id"));
        json_array_extend(all, page);
        json_decref(page);
        if ((int)n < q->limit)
            break;
    }
    *out = all;
    return GW_OK;
}

static int cmd_logs_list(int argc, char **argv)
{
    int limit = LOGS_DEFAULT_LIMIT;
    gboolean as_json = FALSE;
    char *session = NULL, *property = NULL, *before_s = NULL;
    GOptionEntry entries[] = {
        {"limit", 'l', 0, G_OPTION_ARG_INT, &limit, "Newest N requests (default 50)", "N"},
        {"session", 's', 0, G_OPTION_ARG_STRING, &session, "Only requests of this session",
         "ID"},
        {"property", 'p', 0, G_OPTION_ARG_STRING, &property,
         "Only requests with this custom property (any value when '=VALUE' is left out)",
         "NAME[=VALUE]"},
        {"before", 'b', 0, G_OPTION_ARG_STRING, &before_s,
         "Only requests older than the one with this id (the \"id\" of a row: next page)", "ID"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the full rows as a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL,
                           "List recent requests, newest first. With --session, --property or "
                           "--before, rows are ordered by id (the order they were logged).",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && (limit < 1 || limit > LOGS_MAX_LIMIT))
        rc = usage_error("--limit must be between 1 and %d", LOGS_MAX_LIMIT);
    GwLogQuery q = {0};
    char *prop_name = NULL;
    if (rc == 0 && before_s != NULL &&
        !g_ascii_string_to_signed(before_s, 10, 1, G_MAXINT64, &q.before_id, NULL))
        rc = usage_error("--before must be a row id (a positive integer)");
    if (rc == 0 && property != NULL) {
        char *eq = strchr(property, '=');
        /* Stored names are lower-case (header names are case-insensitive). */
        prop_name = g_ascii_strdown(property, eq != NULL ? eq - property : -1);
        q.property_name = prop_name;
        q.property_value = eq != NULL ? eq + 1 : NULL;
        if (*prop_name == '\0')
            rc = usage_error("--property needs a name: NAME or NAME=VALUE");
    }
    if (rc == 0 && session != NULL && *session == '\0')
        rc = usage_error("--session needs a session id");
    q.session_id = session;
    gboolean filtered = session != NULL || property != NULL || before_s != NULL;

    Ctl c;
    GError *err = NULL;
    json_t *rows = NULL;
    if (rc == 0) {
        if (ctl_open(&c, &err) != GW_OK ||
            (filtered ? logs_query_all(c.store, &q, limit, &rows, &err)
                      : gw_store_log_list_json(c.store, limit, &rows, &err)) != GW_OK)
            rc = report(err);
        ctl_close(&c);
    }
    g_free(prop_name);
    g_free(session);
    g_free(property);
    g_free(before_s);
    if (rc != 0)
        return rc;
    if (as_json)
        return print_json(rows);

    const char *head[] = {"ID",      "TIME",    "REQUEST ID", "VIRTUAL KEY", "MODEL", "STATUS",
                          "LATENCY", "TOKENS", "COST $",     "TRIES",       "ERROR"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_take(t, jint(r, "id", ""));
        table_take(t, fmt_time(json_integer_value(json_object_get(r, "created_at"))));
        table_add(t, jstr(r, "request_id"));
        table_add(t, jstr(r, "virtual_key"));
        table_add(t, jstr(r, "model"));
        table_take(t, jint(r, "status", json_is_true(json_object_get(r, "stream")) ? " (sse)"
                                                                                   : ""));
        table_take(t, jint(r, "latency_ms", " ms"));
        table_take(t, jint(r, "total_tokens", ""));
        table_add(t, jstr(r, "cost_usd") != NULL ? jstr(r, "cost_usd") : jstr(r, "cost_flag"));
        table_take(t, jint(r, "attempt_count", ""));
        table_add(t, jstr(r, "error_code"));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

/* ---- sessions ---- */

/* 850 → "850 ms", 12345 → "12.3 s", 754000 → "12m34s", 7500000 → "2h05m". Caller frees. */
static char *fmt_duration(gint64 ms)
{
    if (ms < 1000)
        return g_strdup_printf("%" G_GINT64_FORMAT " ms", MAX(ms, 0));
    if (ms < 60000)
        return g_strdup_printf("%.1f s", (double)ms / 1000.0);
    gint64 s = ms / 1000;
    if (s < 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT "m%02" G_GINT64_FORMAT "s", s / 60, s % 60);
    return g_strdup_printf("%" G_GINT64_FORMAT "h%02" G_GINT64_FORMAT "m", s / 3600,
                           s / 60 % 60);
}

/* "/plan(3), /plan/search(2)". Caller frees. */
static char *paths_compact(json_t *paths)
{
    GString *out = g_string_new(NULL);
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p) {
        const char *path = jstr(p, "path");
        g_string_append_printf(out, "%s%s(%" JSON_INTEGER_FORMAT ")", i > 0 ? ", " : "",
                               path != NULL ? path : "-",
                               json_integer_value(json_object_get(p, "requests")));
    }
    return g_string_free(out, FALSE);
}

static int cmd_sessions_list(int argc, char **argv)
{
    char *limit_s = NULL;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"limit", 'l', 0, G_OPTION_ARG_STRING, &limit_s,
         "The N sessions with the newest activity (default 50, at most 1000)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL,
                           "List sessions (requests sharing an alephant-session-id), newest "
                           "activity first, with their totals and paths.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    int limit = SESSIONS_DEFAULT_LIMIT;
    if (rc == 0 && limit_s != NULL &&
        (!parse_int(limit_s, &limit) || limit < 1 || limit > SESSIONS_MAX_LIMIT))
        rc = usage_error("--limit must be between 1 and %d", SESSIONS_MAX_LIMIT);
    g_free(limit_s);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_open(&c, &err) != GW_OK ||
        gw_store_sessions_json(c.store, limit, &rows, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    ctl_close(&c);
    if (as_json)
        return print_json(rows);

    const char *head[] = {"SESSION",  "NAME",   "REQUESTS", "TOKENS", "COST $",
                          "LAST",     "DURATION", "PATHS"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, jstr(r, "session_id"));
        table_add(t, jstr(r, "name"));
        table_take(t, jint(r, "requests", ""));
        table_take(t, jint(r, "total_tokens", ""));
        table_add(t, jstr(r, "cost_usd"));
        table_take(t, fmt_time(json_integer_value(json_object_get(r, "last_at"))));
        table_take(t, fmt_duration(json_integer_value(json_object_get(r, "duration_ms"))));
        table_take(t, paths_compact(json_object_get(r, "paths")));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

/* ---- prompt templates ---- */

/* Reads at most max bytes of f (one more is an error) as NUL-free text (*out, caller frees). */
static GwStatus read_text(FILE *f, const char *what, size_t max, char **out, GError **err)
{
    char *buf = g_malloc(max + 2);
    size_t len = 0;
    while (len <= max) {
        size_t n = fread(buf + len, 1, max + 1 - len, f);
        len += n;
        if (n == 0)
            break;
    }
    GwStatus gs = GW_OK;
    if (ferror(f))
        gs = gw_fail(err, GW_EIO, "cannot read %s: %s", what, g_strerror(errno));
    else if (len > max)
        gs = gw_fail(err, GW_ETOOBIG, "%s is larger than %zu bytes", what, max);
    else if (memchr(buf, '\0', len) != NULL)
        gs = gw_fail(err, GW_EINVAL, "%s contains a NUL byte", what);
    if (gs != GW_OK) {
        g_free(buf);
        return gs;
    }
    buf[len] = '\0';
    *out = buf;
    return GW_OK;
}

/* Reads the template (file or stdin) and validates its shape the way the gateway applies it. */
static GwStatus load_template(const char *path, char **out, GError **err)
{
    char *what = path != NULL ? g_strdup_printf("template file %s", path)
                              : g_strdup("the template on stdin");
    FILE *f = path != NULL ? fopen(path, "rb") : stdin;
    GwStatus gs = GW_OK;
    char *text = NULL;
    if (f == NULL)
        gs = gw_fail(err, GW_EIO, "cannot open %s: %s", what, g_strerror(errno));
    else
        gs = read_text(f, what, PROMPT_TEMPLATE_MAX, &text, err);
    if (f != NULL && f != stdin)
        fclose(f);
    json_t *tmpl = NULL;
    if (gs == GW_OK) {
        json_error_t jerr;
        tmpl = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (tmpl == NULL)
            gs = gw_fail(err, GW_EINVAL, "%s is not valid JSON: %s (line %d)", what, jerr.text,
                         jerr.line);
    }
    if (gs == GW_OK)
        gs = gw_prompt_validate(tmpl, NULL, err);
    json_decref(tmpl);
    g_free(what);
    if (gs != GW_OK) {
        g_free(text);
        return gs;
    }
    *out = text;
    return GW_OK;
}

static int cmd_prompt_add(int argc, char **argv)
{
    char *name = NULL, *file = NULL;
    gboolean from_stdin = FALSE;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name,
         "Prompt name (1-128 of A-Z a-z 0-9 . _ -), created if new", "NAME"},
        {"file", 'f', 0, G_OPTION_ARG_FILENAME, &file, "Read the template from this file",
         "PATH"},
        {"stdin", 0, 0, G_OPTION_ARG_NONE, &from_stdin, "Read the template from standard input",
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]",
                           "Add a new version of a prompt template and print \"NAME vVERSION\". "
                           "The template is a JSON object: {\"messages\": [{\"role\": …, "
                           "\"content\": \"… {{variable}} …\"}], \"model\": … (optional), "
                           "\"params\": {…} (optional)}. Requests naming the prompt in "
                           "alephant-prompt-id use its newest version.",
                           NULL, entries, &argc, &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    if (rc == 0 && (file != NULL) == from_stdin)
        rc = usage_error("give the template with exactly one of --file PATH or --stdin");
    if (rc == 0) {
        GError *err = NULL;
        char *text = NULL;
        int version = 0;
        Ctl c = {0};
        if (load_template(file, &text, &err) != GW_OK) {
            rc = report(err);
        } else if (ctl_open(&c, &err) != GW_OK ||
                   gw_store_prompt_add(c.store, name, text, &version, &err) != GW_OK) {
            rc = report(err);
        } else {
            printf("%s v%d\n", name, version);
        }
        ctl_close(&c);
        g_free(text);
    }
    g_free(name);
    g_free(file);
    return rc;
}

static int cmd_prompt_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    int rc = list_options("List prompt templates with their number of versions.",
                          &as_json, &argc, &argv);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_open(&c, &err) != GW_OK || gw_store_prompt_list_json(c.store, &rows, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    ctl_close(&c);
    if (as_json)
        return print_json(rows);
    const char *head[] = {"NAME", "VERSIONS", "LATEST", "CREATED", "UPDATED"};
    Table *t = table_new(head, G_N_ELEMENTS(head));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_add(t, jstr(r, "name"));
        table_take(t, jint(r, "versions", ""));
        table_take(t, jint(r, "latest_version", ""));
        table_take(t, fmt_time(json_integer_value(json_object_get(r, "created_at"))));
        table_take(t, fmt_time(json_integer_value(json_object_get(r, "updated_at"))));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

static int cmd_prompt_show(int argc, char **argv)
{
    char *name = NULL, *version_s = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Prompt name", "NAME"},
        {"version", 'v', 0, G_OPTION_ARG_STRING, &version_s, "Version (default: the newest)",
         "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options("[NAME]", "Print a prompt template (JSON).", NULL, entries, &argc,
                           &argv);
    if (rc == 0)
        rc = name_from_args(&name, argc, argv);
    int version = 0;
    if (rc == 0 && version_s != NULL && (!parse_int(version_s, &version) || version < 1))
        rc = usage_error("--version must be a positive integer");
    if (rc == 0) {
        Ctl c;
        GError *err = NULL;
        char *text = NULL;
        if (ctl_open(&c, &err) != GW_OK ||
            gw_store_prompt_get(c.store, name, version, &text, NULL, &err) != GW_OK) {
            rc = report(err);
        } else {
            json_t *tmpl = json_loads(text, 0, NULL);
            /* 15 digits: 0.2 shows as typed, not as 0.20000000000000001; any decimal typed with
             * up to 15 digits still reads back as the same double. */
            if (tmpl != NULL) {
                if (json_dumpf(tmpl, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0 ||
                    fputc('\n', stdout) == EOF)
                    rc = EXIT_FAILURE;
                json_decref(tmpl);
            } else if (printf("%s\n", text) < 0) { /* unparsable: shown as stored */
                rc = EXIT_FAILURE;
            }
        }
        g_free(text);
        ctl_close(&c);
    }
    g_free(name);
    g_free(version_s);
    return rc;
}

/* ---- dispatch ---- */

typedef struct {
    const char *group; /* "vk", or the command itself when it has no subcommands */
    const char *sub;   /* NULL for a group-less command; may be two words ("target list") */
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"init", NULL, cmd_init, "create the home directory, database and master key"},
    {"provider-key", "add", cmd_pk_add, "add a provider key (secret on stdin)"},
    {"provider-key", "list", cmd_pk_list, "list provider keys"},
    {"provider-key", "rotate", cmd_pk_rotate, "replace a provider key's secret (on stdin)"},
    {"provider-key", "delete", cmd_pk_delete, "delete an unused provider key"},
    {"vk", "create", cmd_vk_create, "create a virtual key and print its token"},
    {"vk", "list", cmd_vk_list, "list virtual keys"},
    {"vk", "revoke", cmd_vk_revoke, "revoke a virtual key"},
    {"vk", "update", cmd_vk_update, "set a virtual key's budget and rate limits"},
    {"vk", "edit", cmd_vk_edit, "change a virtual key's models, expiry, agent or department"},
    {"vk", "target list", cmd_vk_target_list, "list a virtual key's routing targets"},
    {"vk", "target set", cmd_vk_target_set, "add or update a routing target"},
    {"vk", "target remove", cmd_vk_target_remove, "remove a routing target"},
    {"price", "list", cmd_price_list, "list model prices (USD per million tokens)"},
    {"price", "set", cmd_price_set, "set a model's price from a date on"},
    {"agent", "create", cmd_agent_create, "create an agent (optionally in a department)"},
    {"agent", "list", cmd_agent_list, "list agents with their keys and spend"},
    {"agent", "delete", cmd_agent_delete, "delete an agent no active key uses"},
    {"agent", "update", cmd_agent_update, "set an agent's budget and rate limits"},
    {"department", "create", cmd_department_create, "create a department"},
    {"department", "list", cmd_department_list, "list departments with their agents and spend"},
    {"department", "delete", cmd_department_delete, "delete a department nothing uses"},
    {"department", "update", cmd_department_update, "set a department's budget and rate limits"},
    {"budget", "list", cmd_budget_list, "list budgets with their current spend"},
    {"ratelimit", "list", cmd_ratelimit_list, "list rate-limit rules"},
    {"logs", "list", cmd_logs_list, "list recent requests (filter by session or property)"},
    {"sessions", "list", cmd_sessions_list, "list sessions with their totals and paths"},
    {"prompt", "add", cmd_prompt_add, "add a version of a prompt template"},
    {"prompt", "list", cmd_prompt_list, "list prompt templates"},
    {"prompt", "show", cmd_prompt_show, "print a prompt template"},
    {"policy", "add", cmd_policy_add, "add a request policy (kinds: policy add --help)"},
    {"policy", "list", cmd_policy_list, "list policies in evaluation order"},
    {"policy", "remove", cmd_policy_remove, "remove a policy"},
    {"cache", "purge", cmd_cache_purge, "remove response cache entries of a scope or seed"},
    /* ---- admin accounts and API tokens: cmd_admin.c ---- */
    {"admin", "add", cmd_admin_add, "add an admin account (password on stdin)"},
    {"admin", "passwd", cmd_admin_passwd, "change an admin account's password (on stdin)"},
    {"admin", "list", cmd_admin_list, "list admin accounts"},
    {"admin", "token create", cmd_admin_token_create, "create an admin API token and print it"},
    {"admin", "token list", cmd_admin_token_list, "list admin API tokens"},
    {"admin", "token revoke", cmd_admin_token_revoke, "revoke an admin API token"},
    /* ---- end admin ---- */
};

static void print_usage(FILE *f, const char *group)
{
    fprintf(f, "Usage: alephantctl %s%s<command> [options]\n\nCommands:\n",
            group != NULL ? group : "", group != NULL ? " " : "");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        const Command *c = &commands[i];
        if (group != NULL && strcmp(group, c->group) != 0)
            continue;
        char *words = g_strjoin(" ", c->group, c->sub, NULL);
        fprintf(f, "  %-24s %s\n", words, c->summary);
        g_free(words);
    }
    fprintf(f, "\nRun 'alephantctl <command> --help' for a command's options.\n"
               "Configuration: $ALEPHANT_HOME (default ./var), $ALEPHANT_CONFIG.\n");
}

static gboolean is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* TRUE when word is the first of a multi-word subcommand of group ("vk", "target"). */
static gboolean is_sub_prefix(const char *group, const char *word)
{
    size_t n = strlen(word);
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        const Command *c = &commands[i];
        if (strcmp(c->group, group) == 0 && c->sub != NULL && strncmp(c->sub, word, n) == 0 &&
            c->sub[n] == ' ')
            return TRUE;
    }
    return FALSE;
}

/* Number of words of sub ("list", "target list") that argv starts with, 0 if it does not. */
static int match_words(const char *sub, int argc, char **argv)
{
    char **words = g_strsplit(sub, " ", -1);
    int n = (int)g_strv_length(words);
    gboolean ok = n <= argc;
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(words[i], argv[i]) == 0;
    g_strfreev(words);
    return ok ? n : 0;
}

/* argv[0] is the (sub)command word; the program name shown in --help is the full command. */
static int run_command(const Command *c, int argc, char **argv)
{
    char *prgname = g_strjoin(" ", "alephantctl", c->group, c->sub, NULL);
    g_set_prgname(prgname);
    g_free(prgname);
    int rc = c->run(argc, argv);
    /* A full disk or closed pipe must not look like success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "alephantctl: cannot write output: %s\n", g_strerror(errno));
        if (rc == 0)
            rc = EXIT_FAILURE;
    }
    return rc;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* The database holds logged request bodies and the key file the master key. */
    umask(077);

    if (argc < 2) {
        print_usage(stderr, NULL);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        print_usage(stdout, NULL);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s\n", PACKAGE_STRING);
        return 0;
    }
    gboolean group_known = FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        const Command *c = &commands[i];
        if (strcmp(argv[1], c->group) != 0)
            continue;
        group_known = TRUE;
        if (c->sub == NULL)
            return run_command(c, argc - 1, argv + 1);
        if (argc < 3 || is_help(argv[2])) {
            print_usage(argc < 3 ? stderr : stdout, argv[1]);
            return argc < 3 ? EXIT_USAGE : 0;
        }
        int nwords = match_words(c->sub, argc - 2, argv + 2);
        if (nwords > 0)
            /* The command's argv[0] is its last word, as GOption expects. */
            return run_command(c, argc - 1 - nwords, argv + 1 + nwords);
    }
    if (group_known && is_sub_prefix(argv[1], argv[2]) && (argc == 3 || is_help(argv[3]))) {
        /* "vk target" or "vk target --help": the group's list shows the target commands. */
        print_usage(argc == 3 ? stderr : stdout, argv[1]);
        return argc == 3 ? EXIT_USAGE : 0;
    }
    if (group_known)
        fprintf(stderr, "alephantctl: unknown %s command '%s'\nTry 'alephantctl %s --help'.\n",
                argv[1], argv[2], argv[1]);
    else
        fprintf(stderr, "alephantctl: unknown command '%s'\nTry 'alephantctl --help'.\n", argv[1]);
    return EXIT_USAGE;
}
