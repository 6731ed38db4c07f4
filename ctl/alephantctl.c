/* alephantctl.c — operator CLI: provider keys, virtual keys and request logs, working on the same
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
#include "crypto.h"
#include "ops.h"
#include "store.h"

#define EXIT_USAGE 2
/* Bytes read from stdin for a secret; the ops layer enforces the real 4096-byte limit. */
#define SECRET_READ_MAX 8192
#define LOGS_DEFAULT_LIMIT 50
#define LOGS_MAX_LIMIT 100000
/* Free-text table cells (error messages, paths) are cut to keep rows on one line. */
#define CELL_MAX_CHARS 60

typedef struct {
    GwConf *conf;
    GwStore *store;
    GwOps ops;
} Ctl;

/* ---- small helpers ---- */

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

/* Parses a subcommand's options; argv[0] is the subcommand word. --help prints and exits 0. */
static int parse_options(const char *params, const char *summary, GOptionEntry *entries,
                         int *argc, char ***argv)
{
    GOptionContext *ctx = g_option_context_new(params);
    g_option_context_set_summary(ctx, summary);
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

/* The name comes from --name or a single positional argument. */
static int name_from_args(char **opt_name, int argc, char **argv)
{
    if (argc > 2)
        return usage_error("unexpected argument '%s'", argv[2]);
    if (argc == 2) {
        if (*opt_name != NULL && strcmp(*opt_name, argv[1]) != 0)
            return usage_error("give the name once (--name or positional)");
        if (*opt_name == NULL)
            *opt_name = g_strdup(argv[1]);
    }
    if (*opt_name == NULL)
        return usage_error("--name is required");
    return 0;
}

static int no_positional(int argc, char **argv)
{
    return argc > 1 ? usage_error("unexpected argument '%s'", argv[1]) : 0;
}

static void wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* Loads config, makes sure the home directory (0700), database (migrated) and master key exist. */
static GwStatus ctl_open(Ctl *c, GError **err)
{
    memset(c, 0, sizeof *c);
    GwStatus gs = gw_conf_load(&c->conf, err);
    if (gs != GW_OK)
        return gs;
    if (g_mkdir_with_parents(c->conf->home, 0700) != 0)
        return gw_fail(err, GW_EIO, "cannot create home directory %s: %s", c->conf->home,
                       g_strerror(errno));
    gs = gw_store_open(c->conf->db_path, &c->store, err);
    if (gs == GW_OK)
        gs = gw_store_migrate(c->store, err);
    if (gs == GW_OK)
        gs = gw_master_key_load(c->conf->master_key_path, TRUE, c->ops.master_key, err);
    c->ops.store = c->store;
    c->ops.allow_private_upstreams = c->conf->allow_private_upstreams;
    return gs;
}

static void ctl_close(Ctl *c)
{
    wipe(c->ops.master_key, sizeof c->ops.master_key);
    gw_store_close(c->store);
    gw_conf_free(c->conf);
    memset(c, 0, sizeof *c);
}

/* Reads the secret from stdin and strips one trailing "\n" or "\r\n". On a terminal it reads one
 * line with echo off. *out is freed with gw_secret_free. */
static GwStatus read_secret(char **out, GError **err)
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

/* Unix ms → "2027-01-01T00:00:00Z", or "-" for 0 (never). Caller frees. */
static char *fmt_time(gint64 ms)
{
    if (ms <= 0)
        return g_strdup("-");
    GDateTime *dt = g_date_time_new_from_unix_utc(ms / 1000);
    if (dt == NULL)
        return g_strdup("?");
    char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(dt);
    return s;
}

static json_t *json_str_or_null(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;
    return j != NULL ? j : json_null();
}

static json_t *json_ms_or_null(gint64 ms)
{
    return ms > 0 ? json_integer(ms) : json_null();
}

static int print_json(json_t *j)
{
    int rc = json_dumpf(j, stdout, JSON_INDENT(2));
    json_decref(j);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return EXIT_FAILURE;
    return 0;
}

/* ---- plain-text tables ---- */

typedef struct {
    guint ncols;
    GPtrArray *cells; /* row-major, owned */
} Table;

static Table *table_new(guint ncols)
{
    Table *t = g_new0(Table, 1);
    t->ncols = ncols;
    t->cells = g_ptr_array_new_with_free_func(g_free);
    return t;
}

/* Cells may hold client-controlled text (log paths, models): control characters and invalid
 * UTF-8 are replaced so nothing reaches the terminal as an escape sequence. Takes ownership. */
static void table_take(Table *t, char *s)
{
    if (s == NULL || *s == '\0') {
        g_free(s);
        s = g_strdup("-");
    }
    char *valid = g_utf8_make_valid(s, -1);
    g_free(s);
    GString *out = g_string_new(NULL);
    glong n = 0;
    for (const char *c = valid; *c != '\0'; c = g_utf8_next_char(c), n++) {
        if (n == CELL_MAX_CHARS) {
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
    g_ptr_array_add(t->cells, g_string_free(out, FALSE));
}

static void table_add(Table *t, const char *s)
{
    table_take(t, g_strdup(s));
}

static void table_print(Table *t)
{
    glong *width = g_new0(glong, t->ncols);
    for (guint i = 0; i < t->cells->len; i++) {
        glong w = g_utf8_strlen(g_ptr_array_index(t->cells, i), -1);
        width[i % t->ncols] = MAX(width[i % t->ncols], w);
    }
    for (guint i = 0; i < t->cells->len; i++) {
        const char *s = g_ptr_array_index(t->cells, i);
        guint col = i % t->ncols;
        fputs(s, stdout);
        if (col + 1 == t->ncols) {
            fputc('\n', stdout);
        } else {
            for (glong pad = width[col] - g_utf8_strlen(s, -1) + 2; pad > 0; pad--)
                fputc(' ', stdout);
        }
    }
    g_free(width);
    g_ptr_array_unref(t->cells);
    g_free(t);
}

/* ---- commands ---- */

static int cmd_init(int argc, char **argv)
{
    GOptionEntry entries[] = {{NULL, 0, 0, 0, NULL, NULL, NULL}};
    int rc = parse_options(NULL, "Create the home directory, database and master key (idempotent).",
                           entries, &argc, &argv);
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
    char *name = NULL, *provider = NULL, *base_url = NULL;
    gboolean key_stdin = FALSE;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Name (1-64 of A-Z a-z 0-9 . _ -)", "NAME"},
        {"provider", 'p', 0, G_OPTION_ARG_STRING, &provider,
         "openai, anthropic, openai-compatible or mock", "KIND"},
        {"base-url", 0, 0, G_OPTION_ARG_STRING, &base_url,
         "Upstream base URL (default: the provider's; required for openai-compatible)", "URL"},
        {"key-stdin", 0, 0, G_OPTION_ARG_NONE, &key_stdin,
         "Read the secret from standard input (required except for mock)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "Add an upstream provider key. The secret is read from stdin.",
                           entries, &argc, &argv);
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
            gw_ops_provider_key_add(&c.ops, name, provider, base_url, secret, &err) != GW_OK)
            rc = report(err);
        else
            fprintf(stderr, "alephantctl: provider key '%s' added\n", name);
        ctl_close(&c);
    }
    free_secret(secret);
    g_free(name);
    g_free(provider);
    g_free(base_url);
    return rc;
}

static int cmd_pk_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "List provider keys (secrets are never shown, only a hint).",
                           entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
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
        for (guint i = 0; i < keys->len; i++) {
            const GwProviderKey *pk = g_ptr_array_index(keys, i);
            json_t *o = json_object();
            json_object_set_new(o, "name", json_str_or_null(pk->name));
            json_object_set_new(o, "provider", json_str_or_null(pk->provider));
            json_object_set_new(o, "base_url", json_str_or_null(pk->base_url));
            json_object_set_new(o, "default_base_url",
                                json_str_or_null(gw_provider_default_base_url(pk->provider)));
            json_object_set_new(o, "secret_hint", json_str_or_null(pk->secret_hint));
            json_object_set_new(o, "created_at", json_ms_or_null(pk->created_at));
            json_object_set_new(o, "rotated_at", json_ms_or_null(pk->rotated_at));
            json_object_set_new(o, "virtual_keys", json_integer(pk->vk_count));
            json_array_append_new(arr, o);
        }
        rc = print_json(arr);
    } else {
        Table *t = table_new(7);
        const char *head[] = {"NAME", "PROVIDER", "BASE URL", "KEY", "CREATED", "ROTATED", "VKS"};
        for (guint i = 0; i < G_N_ELEMENTS(head); i++)
            table_add(t, head[i]);
        for (guint i = 0; i < keys->len; i++) {
            const GwProviderKey *pk = g_ptr_array_index(keys, i);
            const char *def = gw_provider_default_base_url(pk->provider);
            table_add(t, pk->name);
            table_add(t, pk->provider);
            table_take(t, pk->base_url != NULL ? g_strdup(pk->base_url)
                          : def != NULL        ? g_strdup_printf("%s (default)", def)
                                               : NULL);
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
                           entries, &argc, &argv);
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
                           "Delete a provider key (refused while any virtual key refers to it).",
                           entries, &argc, &argv);
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
                           entries, &argc, &argv);
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

static int cmd_vk_list(int argc, char **argv)
{
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "List virtual keys (tokens are never shown, only a prefix).",
                           entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    GPtrArray *keys = NULL;
    if (ctl_open(&c, &err) != GW_OK || gw_store_vk_list(c.store, &keys, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    gint64 now = g_get_real_time() / 1000;
    if (as_json) {
        json_t *arr = json_array();
        for (guint i = 0; i < keys->len; i++) {
            const GwVirtualKey *vk = g_ptr_array_index(keys, i);
            json_t *o = json_object();
            json_t *models = json_null();
            if (vk->allowed_models != NULL) {
                models = json_array();
                for (char **m = vk->allowed_models; *m != NULL; m++)
                    json_array_append_new(models, json_str_or_null(*m));
            }
            json_object_set_new(o, "name", json_str_or_null(vk->name));
            json_object_set_new(o, "prefix", json_str_or_null(vk->token_prefix));
            json_object_set_new(o, "provider_key", json_str_or_null(vk->provider_key_name));
            json_object_set_new(o, "models", models);
            json_object_set_new(o, "agent", json_str_or_null(vk->agent_name));
            json_object_set_new(o, "department", json_str_or_null(vk->department_name));
            json_object_set_new(o, "status", json_str_or_null(vk->status));
            json_object_set_new(o, "expired",
                                json_boolean(vk->expires_at > 0 && vk->expires_at <= now));
            json_object_set_new(o, "expires_at", json_ms_or_null(vk->expires_at));
            json_object_set_new(o, "created_at", json_ms_or_null(vk->created_at));
            json_object_set_new(o, "last_used_at", json_ms_or_null(vk->last_used_at));
            json_array_append_new(arr, o);
        }
        rc = print_json(arr);
    } else {
        const char *head[] = {"NAME",       "PREFIX", "PROVIDER KEY", "MODELS",  "AGENT",
                              "DEPARTMENT", "STATUS", "EXPIRES",      "CREATED", "LAST USED"};
        Table *t = table_new(G_N_ELEMENTS(head));
        for (guint i = 0; i < G_N_ELEMENTS(head); i++)
            table_add(t, head[i]);
        for (guint i = 0; i < keys->len; i++) {
            const GwVirtualKey *vk = g_ptr_array_index(keys, i);
            table_add(t, vk->name);
            table_take(t, g_strconcat(vk->token_prefix, "\u2026", NULL));
            table_add(t, vk->provider_key_name);
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
                           entries, &argc, &argv);
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

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static char *jint(json_t *o, const char *key, const char *suffix)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return g_strdup("-");
    return g_strdup_printf("%" JSON_INTEGER_FORMAT "%s", json_integer_value(v), suffix);
}

static int cmd_logs_list(int argc, char **argv)
{
    int limit = LOGS_DEFAULT_LIMIT;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"limit", 'l', 0, G_OPTION_ARG_INT, &limit, "Newest N requests (default 50)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the full rows as a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, "List recent requests, newest first.", entries, &argc, &argv);
    if (rc == 0)
        rc = no_positional(argc, argv);
    if (rc == 0 && (limit < 1 || limit > LOGS_MAX_LIMIT))
        rc = usage_error("--limit must be between 1 and %d", LOGS_MAX_LIMIT);
    if (rc != 0)
        return rc;
    Ctl c;
    GError *err = NULL;
    json_t *rows = NULL;
    if (ctl_open(&c, &err) != GW_OK ||
        gw_store_log_list_json(c.store, limit, &rows, &err) != GW_OK) {
        ctl_close(&c);
        return report(err);
    }
    ctl_close(&c);
    if (as_json)
        return print_json(rows);

    const char *head[] = {"TIME", "REQUEST ID", "VIRTUAL KEY", "MODEL", "STATUS",
                          "LATENCY", "TOKENS", "ERROR"};
    Table *t = table_new(G_N_ELEMENTS(head));
    for (guint i = 0; i < G_N_ELEMENTS(head); i++)
        table_add(t, head[i]);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        table_take(t, fmt_time(json_integer_value(json_object_get(r, "created_at"))));
        table_add(t, jstr(r, "request_id"));
        table_add(t, jstr(r, "virtual_key"));
        table_add(t, jstr(r, "model"));
        table_take(t, jint(r, "status", json_is_true(json_object_get(r, "stream")) ? " (sse)"
                                                                                   : ""));
        table_take(t, jint(r, "latency_ms", " ms"));
        table_take(t, jint(r, "total_tokens", ""));
        table_add(t, jstr(r, "error_code"));
    }
    table_print(t);
    json_decref(rows);
    return 0;
}

/* ---- dispatch ---- */

typedef struct {
    const char *group; /* "vk", or the command itself when it has no subcommands */
    const char *sub;   /* NULL for a group-less command */
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
    {"logs", "list", cmd_logs_list, "list recent requests"},
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
        fprintf(f, "  %-22s %s\n", words, c->summary);
        g_free(words);
    }
    fprintf(f, "\nRun 'alephantctl <command> --help' for a command's options.\n"
               "Configuration: $ALEPHANT_HOME (default ./var), $ALEPHANT_CONFIG.\n");
}

static gboolean is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
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
        if (strcmp(argv[2], c->sub) == 0)
            return run_command(c, argc - 2, argv + 2);
    }
    if (group_known)
        fprintf(stderr, "alephantctl: unknown %s command '%s'\nTry 'alephantctl %s --help'.\n",
                argv[1], argv[2], argv[1]);
    else
        fprintf(stderr, "alephantctl: unknown command '%s'\nTry 'alephantctl --help'.\n", argv[1]);
    return EXIT_USAGE;
}
