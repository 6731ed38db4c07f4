/* util.c — helpers shared by alephantctl's command files (declared in ctl.h): errors and option
 * parsing, opening the database, time and JSON formatting, plain-text tables. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "conf.h"
#include "crypto.h"
#include "ctl.h"
#include "store.h"

/* ---- errors and options ---- */

int report(GError *err)
{
    fprintf(stderr, "alephantctl: %s\n", err != NULL ? err->message : "unknown error");
    g_clear_error(&err);
    return EXIT_FAILURE;
}

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\nTry '%s --help'.\n", g_get_prgname(), msg, g_get_prgname());
    g_free(msg);
    return EXIT_USAGE;
}

int parse_options(const char *params, const char *summary, const char *description,
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

int list_options(const char *summary, gboolean *as_json, int *argc, char ***argv)
{
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, as_json, "Print a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    int rc = parse_options(NULL, summary, NULL, entries, argc, argv);
    if (rc == 0)
        rc = no_positional(*argc, *argv);
    return rc;
}

int no_positional(int argc, char **argv)
{
    return argc > 1 ? usage_error("unexpected argument '%s'", argv[1]) : 0;
}

int name_from_args(char **opt_name, int argc, char **argv)
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

gboolean parse_int(const char *text, int *out)
{
    gint64 v = 0;
    if (text == NULL || !g_ascii_string_to_signed(text, 10, G_MININT, G_MAXINT, &v, NULL))
        return FALSE;
    *out = (int)v;
    return TRUE;
}

/* ---- configuration and database ---- */

/* The home directory (0700) and the migrated database of conf; *out only on success. */
static GwStatus open_home_store(const GwConf *conf, GwStore **out, GError **err)
{
    if (g_mkdir_with_parents(conf->home, 0700) != 0)
        return gw_fail(err, GW_EIO, "cannot create home directory %s: %s", conf->home,
                       g_strerror(errno));
    GwStore *st = NULL;
    GwStatus gs = gw_store_open(conf->db_path, &st, err);
    if (gs == GW_OK)
        gs = gw_store_migrate(st, err);
    if (gs != GW_OK) {
        gw_store_close(st);
        return gs;
    }
    *out = st;
    return GW_OK;
}

GwStatus ctl_open(Ctl *c, GError **err)
{
    memset(c, 0, sizeof *c);
    GwStatus gs = gw_conf_load(&c->conf, err);
    if (gs == GW_OK)
        gs = open_home_store(c->conf, &c->store, err);
    if (gs == GW_OK)
        gs = gw_master_key_load(c->conf->master_key_path, TRUE, c->ops.master_key, err);
    if (gs == GW_OK) {
        c->ops.store = c->store;
        c->ops.allow_private_upstreams = c->conf->allow_private_upstreams;
    }
    return gs;
}

void ctl_close(Ctl *c)
{
    explicit_bzero(c->ops.master_key, sizeof c->ops.master_key);
    gw_store_close(c->store);
    gw_conf_free(c->conf);
    memset(c, 0, sizeof *c);
}

GwStatus ctl_open_store(GwStore **out, GError **err)
{
    GwConf *conf = NULL;
    GwStatus gs = gw_conf_load(&conf, err);
    if (gs != GW_OK)
        return gs;
    gs = open_home_store(conf, out, err);
    gw_conf_free(conf);
    return gs;
}

GwStatus ctl_store_list_json(GwStatus (*list)(GwStore *st, json_t **out, GError **err),
                             json_t **rows, GError **err)
{
    GwStore *st = NULL;
    GwStatus gs = ctl_open_store(&st, err);
    if (gs == GW_OK)
        gs = list(st, rows, err);
    gw_store_close(st);
    return gs;
}

/* ---- formatting ---- */

char *fmt_time(gint64 ms)
{
    if (ms <= 0)
        return g_strdup("-");
    if (ms == G_MAXINT64)
        return g_strdup("never");
    GDateTime *dt = g_date_time_new_from_unix_utc(ms / 1000);
    if (dt == NULL)
        return g_strdup("?");
    char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(dt);
    return s;
}

const char *scope_label(const char *scope)
{
    return g_strcmp0(scope, "virtual_key") == 0 ? "vk" : scope;
}

/* ---- JSON ---- */

int print_json(json_t *j)
{
    int rc = json_dumpf(j, stdout, JSON_INDENT(2));
    json_decref(j);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return EXIT_FAILURE;
    return 0;
}

const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

gint64 jint_or(json_t *o, const char *key, gint64 dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* ---- plain-text tables ---- */

struct Table {
    guint ncols;
    GPtrArray *cells; /* row-major, owned */
};

Table *table_new(const char *const *head, guint ncols)
{
    Table *t = g_new0(Table, 1);
    t->ncols = ncols;
    t->cells = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < ncols; i++)
        table_add(t, head[i]);
    return t;
}

void table_take_max(Table *t, char *s, glong max_chars)
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
    g_ptr_array_add(t->cells, g_string_free(out, FALSE));
}

void table_take(Table *t, char *s)
{
    table_take_max(t, s, CELL_MAX_CHARS);
}

void table_add(Table *t, const char *s)
{
    table_take(t, g_strdup(s));
}

void table_print(Table *t)
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
