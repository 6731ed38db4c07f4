/* conf.c — alephant.conf (GLib key-file) plus ALEPHANT_* environment overrides, validated once
 * at start. Every key the gateway knows is in the table below; anything else is refused, so a
 * typo never silently falls back to a default. */
#include "config.h"
#include "conf.h"

#include "cidr.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define DEFAULT_HOME "./var"
#define CONF_FILE_NAME "alephant.conf"
/* A configuration file is a few hundred bytes; the cap keeps a hostile or mistaken file (or
 * fuzzer input) from costing memory. */
#define CONF_MAX_BYTES (1024 * 1024)
#define PATH_MAX_BYTES 4096
#define MIB (G_GINT64_CONSTANT(1024) * 1024)
#define DAY_MS 86400000

typedef enum { K_PATH, K_INT, K_INT64, K_BOOL, K_CIDRS, K_WORD } KeyKind;

/* Paths are kept as given until every source has been applied, then resolved against home. */
enum { P_HOME, P_DATABASE, P_MASTER_KEY, P_CACHE, P_COUNT };

typedef struct {
    const char *group;
    const char *key;
    const char *alias; /* short environment variable, or NULL */
    KeyKind kind;
    size_t off;        /* offsetof in GwConf, or the P_* slot for K_PATH */
    gint64 min, max;
} KeySpec;

static const KeySpec keys[] = {
    {"paths", "home", "ALEPHANT_HOME", K_PATH, P_HOME, 0, 0},
    {"paths", "database", NULL, K_PATH, P_DATABASE, 0, 0},
    {"paths", "master_key", NULL, K_PATH, P_MASTER_KEY, 0, 0},
    {"gateway", "processes", "ALEPHANT_PROCESSES", K_INT, offsetof(GwConf, processes), 0, 256},
    {"gateway", "threads", "ALEPHANT_THREADS", K_INT, offsetof(GwConf, threads), 1, 4096},
    {"gateway", "max_request_bytes", NULL, K_INT64, offsetof(GwConf, max_request_bytes), 1,
     1024 * MIB},
    {"gateway", "max_response_bytes", NULL, K_INT64, offsetof(GwConf, max_response_bytes), 1,
     1024 * MIB},
    {"gateway", "response_headers", NULL, K_BOOL, offsetof(GwConf, response_headers), 0, 0},
    {"gateway", "stream_keepalive_ms", NULL, K_INT, offsetof(GwConf, keepalive_interval_ms), 1,
     3600000},
    {"logging", "bodies", NULL, K_BOOL, offsetof(GwConf, log_bodies), 0, 0},
    /* SQLite's default maximum value length is 1e9 bytes: stay well below. */
    {"logging", "body_max_bytes", NULL, K_INT64, offsetof(GwConf, log_body_max_bytes), 1,
     256 * MIB},
    {"upstream", "connect_timeout_ms", NULL, K_INT, offsetof(GwConf, connect_timeout_ms), 1,
     DAY_MS},
    {"upstream", "first_byte_timeout_ms", NULL, K_INT, offsetof(GwConf, first_byte_timeout_ms), 1,
     DAY_MS},
    {"upstream", "timeout_ms", NULL, K_INT, offsetof(GwConf, request_timeout_ms), 1, DAY_MS},
    {"upstream", "low_speed_time_s", NULL, K_INT, offsetof(GwConf, low_speed_time_s), 1, 86400},
    {"gateway", "trusted_proxies", "ALEPHANT_TRUSTED_PROXIES", K_CIDRS,
     offsetof(GwConf, trusted_proxies), 0, 0},
    {"upstream", "max_attempts", NULL, K_INT, offsetof(GwConf, max_attempts), 1, 10},
    {"upstream", "retry_backoff_ms", NULL, K_INT, offsetof(GwConf, retry_backoff_ms), 0, 60000},
    {"upstream", "allow_private", "ALEPHANT_ALLOW_PRIVATE_UPSTREAMS", K_BOOL,
     offsetof(GwConf, allow_private_upstreams), 0, 0},
    /* ---- cache ---- */
    {"cache", "enabled", NULL, K_BOOL, offsetof(GwConf, cache_enabled), 0, 0},
    {"cache", "path", NULL, K_PATH, P_CACHE, 0, 0},
    {"cache", "max_size_mb", NULL, K_INT64, offsetof(GwConf, cache_max_size_mb), 1, 1024 * 1024},
    {"cache", "scope", NULL, K_WORD, offsetof(GwConf, cache_scope), 0, 0},
    {"cache", "semantic", NULL, K_BOOL, offsetof(GwConf, cache_semantic), 0, 0},
    {"cache", "semantic_max_entries", NULL, K_INT64, offsetof(GwConf, cache_semantic_max_entries),
     1, 100000000},
    {"cache", "embeddings_model", NULL, K_WORD, offsetof(GwConf, cache_embeddings_model), 0, 0},
    /* ---- end cache ---- */
    {"admin", "threads", NULL, K_INT, offsetof(GwConf, admin_threads), 1, 64},
    {"admin", "session_idle_timeout_s", NULL, K_INT, offsetof(GwConf, admin_session_idle_s), 60,
     7 * 86400},
    {"admin", "session_max_age_s", NULL, K_INT, offsetof(GwConf, admin_session_max_s), 60,
     30 * 86400},
    {"admin", "login_max_failures", NULL, K_INT, offsetof(GwConf, admin_login_max_failures), 1,
     1000},
    {"admin", "login_max_failures_ip", NULL, K_INT, offsetof(GwConf, admin_login_max_failures_ip),
     1, 100000},
    {"admin", "login_window_s", NULL, K_INT, offsetof(GwConf, admin_login_window_s), 1, 86400},
};

/* The values a K_WORD key accepts (NULL = any short printable word). */
static const char *const *word_choices(const char *key)
{
    static const char *const scopes[] = {"virtual_key", "agent", "department", NULL};
    return strcmp(key, "scope") == 0 ? scopes : NULL;
}

static const char *const groups[] = {"paths", "gateway", "logging", "upstream", "cache", "admin"};

typedef struct {
    GwConf *c;
    char *path[P_COUNT]; /* as given, NULL = default */
} Builder;

static void builder_init(Builder *b)
{
    memset(b, 0, sizeof *b);
    GwConf *c = b->c = g_new0(GwConf, 1);
    c->processes = 0;
    c->threads = 64;
    c->max_request_bytes = 10 * MIB;
    c->max_response_bytes = 64 * MIB;
    c->log_body_max_bytes = 256 * 1024;
    c->log_bodies = TRUE;
    c->connect_timeout_ms = 10000;
    c->first_byte_timeout_ms = 300000;
    c->request_timeout_ms = 1800000;
    c->low_speed_time_s = 120;
    c->allow_private_upstreams = FALSE;
    c->response_headers = TRUE;
    c->keepalive_interval_ms = 1000;
    c->max_attempts = 3;
    c->retry_backoff_ms = 200;
    c->cache_enabled = TRUE;
    c->cache_max_size_mb = 1024;
    c->cache_scope = g_strdup("virtual_key");
    c->cache_semantic = FALSE;
    c->cache_semantic_max_entries = 100000;
    c->cache_embeddings_model = g_strdup("");
    c->admin_threads = 4;
    c->admin_session_idle_s = 1800;
    c->admin_session_max_s = 43200;
    c->admin_login_max_failures = 5;
    c->admin_login_max_failures_ip = 20;
    c->admin_login_window_s = 900;
}

static void builder_clear(Builder *b)
{
    gw_conf_free(b->c);
    b->c = NULL;
    for (int i = 0; i < P_COUNT; i++)
        g_clear_pointer(&b->path[i], g_free);
}

void gw_conf_free(GwConf *conf)
{
    if (conf == NULL)
        return;
    g_free(conf->home);
    g_free(conf->config_path);
    g_free(conf->db_path);
    g_free(conf->master_key_path);
    g_free(conf->trusted_proxies);
    g_free(conf->cache_path);
    g_free(conf->cache_scope);
    g_free(conf->cache_embeddings_model);
    g_free(conf);
}

/* A value or name from untrusted text, made safe and short for an error message. Caller frees. */
static char *shown(const char *s)
{
    char *cut = g_strndup(s, 64);
    char *esc = g_strescape(cut, NULL);
    g_free(cut);
    if (strlen(s) > 64) {
        char *t = g_strconcat(esc, "...", NULL);
        g_free(esc);
        esc = t;
    }
    return esc;
}

static const KeySpec *find_key(const char *group, const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static gboolean group_known(const char *group)
{
    for (size_t i = 0; i < G_N_ELEMENTS(groups); i++)
        if (strcmp(groups[i], group) == 0)
            return TRUE;
    return FALSE;
}

/* Parses text as the value of spec into b. On failure returns FALSE and *why (caller frees)
 * says what was expected. */
static gboolean apply_value(Builder *b, const KeySpec *spec, const char *text, char **why)
{
    char *v = g_strstrip(g_strdup(text));
    gboolean ok = FALSE;
    switch (spec->kind) {
    case K_PATH:
        /* Paths keep their exact bytes (no strip): only emptiness and length are checked. */
        if (*text == '\0' || strlen(text) > PATH_MAX_BYTES) {
            *why = g_strdup_printf("expected a non-empty path of at most %d bytes",
                                   PATH_MAX_BYTES);
            break;
        }
        g_free(b->path[spec->off]);
        b->path[spec->off] = g_strdup(text);
        ok = TRUE;
        break;
    case K_INT:
    case K_INT64: {
        gint64 n = 0;
        if (!g_ascii_string_to_signed(v, 10, spec->min, spec->max, &n, NULL)) {
            *why = g_strdup_printf("expected an integer from %" G_GINT64_FORMAT
                                   " to %" G_GINT64_FORMAT,
                                   spec->min, spec->max);
            break;
        }
        if (spec->kind == K_INT)
            G_STRUCT_MEMBER(int, b->c, spec->off) = (int)n; /* max fits in int by table */
        else
            G_STRUCT_MEMBER(gint64, b->c, spec->off) = n;
        ok = TRUE;
        break;
    }
    case K_CIDRS: {
        GwCidrList *l = NULL;
        GError *e = NULL;
        if (strlen(v) > 65536 || gw_cidr_list_parse(v, &l, &e) != GW_OK) {
            *why = g_strdup(e != NULL ? e->message : "list too long");
            g_clear_error(&e);
            break;
        }
        gw_cidr_list_free(l);
        g_free(G_STRUCT_MEMBER(char *, b->c, spec->off));
        G_STRUCT_MEMBER(char *, b->c, spec->off) = g_strdup(v);
        ok = TRUE;
        break;
    }
    case K_WORD: {
        const char *const *choices = word_choices(spec->key);
        gboolean fine = strlen(v) <= 256;
        for (const char *c = v; fine && *c != '\0'; c++)
            fine = g_ascii_isgraph(*c);
        if (fine && choices != NULL) {
            fine = FALSE;
            for (guint i = 0; choices[i] != NULL; i++)
                fine |= strcmp(v, choices[i]) == 0;
        }
        if (!fine) {
            *why = choices != NULL ? g_strjoinv("|", (char **)choices)
                                   : g_strdup("expected a word of at most 256 printable bytes");
            if (choices != NULL) {
                char *w = g_strconcat("expected one of ", *why, NULL);
                g_free(*why);
                *why = w;
            }
            break;
        }
        g_free(G_STRUCT_MEMBER(char *, b->c, spec->off));
        G_STRUCT_MEMBER(char *, b->c, spec->off) = g_strdup(v);
        ok = TRUE;
        break;
    }
    case K_BOOL: {
        static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
            if (g_ascii_strcasecmp(v, yes[i]) == 0) {
                G_STRUCT_MEMBER(gboolean, b->c, spec->off) = TRUE;
                ok = TRUE;
            } else if (g_ascii_strcasecmp(v, no[i]) == 0) {
                G_STRUCT_MEMBER(gboolean, b->c, spec->off) = FALSE;
                ok = TRUE;
            }
        }
        if (!ok)
            *why = g_strdup("expected true/false, yes/no or 1/0");
        break;
    }
    }
    g_free(v);
    return ok;
}

/* ---- line numbers: a small scanner following GKeyFile's line syntax ---- */

typedef struct {
    const char *p, *end;
    int lineno;
    char *group; /* current group, NULL before the first header */
} Scan;

/* L_OTHER: blank or comment; L_BAD: none of the valid forms. */
typedef enum { L_EOF, L_GROUP, L_KEY, L_OTHER, L_BAD } LineKind;

/* Advances to the next line. For L_GROUP *name is the group, for L_KEY the key (caller frees). */
static LineKind scan_next(Scan *s, char **name)
{
    if (s->p >= s->end)
        return L_EOF;
    const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
    const char *eol = nl != NULL ? nl : s->end;
    const char *a = s->p;
    s->p = nl != NULL ? nl + 1 : s->end;
    s->lineno++;

    while (a < eol && g_ascii_isspace(*a))
        a++;
    if (a == eol || *a == '#')
        return L_OTHER;
    if (*a == '[') {
        /* GKeyFile takes everything up to the last ']' as the name. */
        const char *close = eol;
        while (close > a && close[-1] != ']')
            close--;
        if (close - 1 <= a)
            return L_BAD;
        *name = g_strndup(a + 1, (gsize)(close - 1 - (a + 1)));
        g_free(s->group);
        s->group = g_strdup(*name);
        return L_GROUP;
    }
    const char *eq = memchr(a, '=', (size_t)(eol - a));
    if (eq == NULL || s->group == NULL)
        return L_BAD;
    const char *k_end = eq;
    while (k_end > a && g_ascii_isspace(k_end[-1]))
        k_end--;
    *name = g_strndup(a, (gsize)(k_end - a));
    return L_KEY;
}

/* Line of the last `key=` line inside [group] (or of the last [group] header when key is NULL),
 * 0 when not found. The last one, because that is the one GKeyFile keeps. */
static int find_line(const char *data, gsize len, const char *group, const char *key)
{
    Scan s = {data, data + len, 0, NULL};
    int found = 0;
    char *name = NULL;
    LineKind k;
    while ((k = scan_next(&s, &name)) != L_EOF) {
        if (key == NULL && k == L_GROUP && strcmp(name, group) == 0)
            found = s.lineno;
        else if (key != NULL && k == L_KEY && s.group != NULL && strcmp(s.group, group) == 0 &&
                 strcmp(name, key) == 0)
            found = s.lineno;
        g_clear_pointer(&name, g_free);
    }
    g_free(s.group);
    return found;
}

/* Line of the first line that is not valid key-file syntax, 0 if none: GKeyFile's syntax
 * errors quote the line but do not number it. */
static int find_bad_line(const char *data, gsize len)
{
    Scan s = {data, data + len, 0, NULL};
    int found = 0;
    char *name = NULL;
    LineKind k;
    while (found == 0 && (k = scan_next(&s, &name)) != L_EOF) {
        if (k == L_BAD)
            found = s.lineno;
        g_clear_pointer(&name, g_free);
    }
    g_free(s.group);
    return found;
}

/* "path:12: " or "path: " when the line is unknown. Caller frees. */
static char *where(const char *path, int line)
{
    return line > 0 ? g_strdup_printf("%s:%d: ", path, line) : g_strdup_printf("%s: ", path);
}

static GwStatus unknown_group(const char *path, int line, const char *group, GError **err)
{
    char *w = where(path, line), *g = shown(group);
    gw_fail(err, GW_EINVAL,
            "%sunknown group [%s] (known groups: paths, gateway, logging, upstream, cache, admin)", w, g);
    g_free(w);
    g_free(g);
    return GW_EINVAL;
}

static GwStatus unknown_key(const char *path, int line, const char *group, const char *key,
                            GError **err)
{
    char *w = where(path, line), *g = shown(group), *k = shown(key);
    gw_fail(err, GW_EINVAL, "%sunknown key \"%s\" in group [%s]", w, k, g);
    g_free(w);
    g_free(g);
    g_free(k);
    return GW_EINVAL;
}

/* Checks every group and key of the file against the table. The scanner sees things GKeyFile
 * hides (it drops translated keys like "threads[de]"), and GKeyFile's own lists are checked
 * too in case the two ever disagree. */
static GwStatus check_names(GKeyFile *kf, const char *data, gsize len, const char *path,
                            GError **err)
{
    Scan s = {data, data + len, 0, NULL};
    GwStatus st = GW_OK;
    char *name = NULL;
    LineKind k;
    while (st == GW_OK && (k = scan_next(&s, &name)) != L_EOF) {
        if (k == L_GROUP && !group_known(name))
            st = unknown_group(path, s.lineno, name, err);
        else if (k == L_KEY && s.group != NULL && find_key(s.group, name) == NULL)
            st = unknown_key(path, s.lineno, s.group, name, err);
        g_clear_pointer(&name, g_free);
    }
    g_free(s.group);
    if (st != GW_OK)
        return st;

    gchar **gs = g_key_file_get_groups(kf, NULL);
    for (gsize i = 0; st == GW_OK && gs[i] != NULL; i++) {
        if (!group_known(gs[i])) {
            st = unknown_group(path, find_line(data, len, gs[i], NULL), gs[i], err);
            break;
        }
        gchar **ks = g_key_file_get_keys(kf, gs[i], NULL, NULL);
        for (gsize j = 0; ks != NULL && ks[j] != NULL; j++) {
            if (find_key(gs[i], ks[j]) == NULL) {
                st = unknown_key(path, find_line(data, len, gs[i], ks[j]), gs[i], ks[j], err);
                break;
            }
        }
        g_strfreev(ks);
    }
    g_strfreev(gs);
    return st;
}

/* Cuts a trailing "  # comment" off a file value. GKeyFile has no inline comments, but the
 * documented sample file uses them and operators copy it; a '#' not preceded by a blank stays
 * (so "a#b" is kept, a path cannot contain " #"). */
static void strip_inline_comment(char *v)
{
    for (char *p = v; *p != '\0'; p++) {
        if (*p == '#' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            g_strchomp(v);
            return;
        }
    }
}

/* Loads the key-file text into b. */
static GwStatus apply_file(Builder *b, const char *data, gsize len, const char *path,
                           GError **err)
{
    if (len > CONF_MAX_BYTES)
        return gw_fail(err, GW_ETOOBIG, "%s: configuration file is larger than %d bytes", path,
                       CONF_MAX_BYTES);
    /* GKeyFile stops at a NUL inside a line while the line scanner would not: refuse it. */
    if (len > 0 && memchr(data, '\0', len) != NULL)
        return gw_fail(err, GW_EINVAL, "%s: configuration file contains a NUL byte", path);

    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    GwStatus st = GW_OK;
    if (len > 0 && !g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &e)) {
        /* GKeyFile quotes the offending line: keep the message short and valid UTF-8. */
        char *msg = g_utf8_make_valid(e->message, MIN((gssize)strlen(e->message), 300));
        char *w = where(path, find_bad_line(data, len));
        st = gw_fail(err, GW_EINVAL, "%s%s", w, msg);
        g_free(w);
        g_free(msg);
        g_error_free(e);
        g_key_file_free(kf);
        return st;
    }
    st = check_names(kf, data, len, path, err);

    for (size_t i = 0; st == GW_OK && i < G_N_ELEMENTS(keys); i++) {
        const KeySpec *spec = &keys[i];
        if (!g_key_file_has_key(kf, spec->group, spec->key, NULL))
            continue;
        /* Paths honour key-file escapes (\s, \\); numbers and booleans are taken raw. */
        char *val = spec->kind == K_PATH ? g_key_file_get_string(kf, spec->group, spec->key, &e)
                                         : g_key_file_get_value(kf, spec->group, spec->key, &e);
        char *why = NULL;
        /* get_string can return a value and an error together (bad escape): the error wins. */
        if (e != NULL) {
            why = g_strdup(e->message);
            g_clear_error(&e);
            g_free(val);
            val = g_key_file_get_value(kf, spec->group, spec->key, NULL); /* shown raw */
        } else {
            strip_inline_comment(val);
        }
        if (why != NULL || !apply_value(b, spec, val, &why)) {
            char *w = where(path, find_line(data, len, spec->group, spec->key));
            char *sv = shown(val != NULL ? val : "");
            st = gw_fail(err, GW_EINVAL, "%s[%s] %s: bad value \"%s\" (%s)", w, spec->group,
                         spec->key, sv, why);
            g_free(w);
            g_free(sv);
        }
        g_free(why);
        g_free(val);
    }
    g_key_file_free(kf);
    return st;
}

/* "ALEPHANT_UPSTREAM_TIMEOUT_MS" for [upstream] timeout_ms. Caller frees. */
static char *env_name(const KeySpec *spec)
{
    char *n = g_strdup_printf("ALEPHANT_%s_%s", spec->group, spec->key);
    char *up = g_ascii_strup(n, -1);
    g_free(n);
    return up;
}

/* Value of the variable overriding spec, or NULL; *var (caller frees) names the variable.
 * The short alias wins over the long form. Empty counts as unset (as shells and container
 * tools often pass it). */
static const char *env_value(const KeySpec *spec, char **var)
{
    const char *v;
    if (spec->alias != NULL && (v = g_getenv(spec->alias)) != NULL && *v != '\0') {
        *var = g_strdup(spec->alias);
        return v;
    }
    char *name = env_name(spec);
    if ((v = g_getenv(name)) != NULL && *v != '\0') {
        *var = name;
        return v;
    }
    g_free(name);
    return NULL;
}

static GwStatus apply_env(Builder *b, GError **err)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        char *var = NULL, *why = NULL;
        const char *v = env_value(&keys[i], &var);
        if (v == NULL)
            continue;
        if (!apply_value(b, &keys[i], v, &why)) {
            char *sv = shown(v);
            gw_fail(err, GW_EINVAL, "environment variable %s ([%s] %s): bad value \"%s\" (%s)",
                    var, keys[i].group, keys[i].key, sv, why);
            g_free(sv);
            g_free(var);
            g_free(why);
            return GW_EINVAL;
        }
        g_free(var);
    }
    return GW_OK;
}

/* Turns the collected paths into absolute ones and resolves processes = 0. */
static void finish(Builder *b)
{
    GwConf *c = b->c;
    /* home is relative to the current directory, everything else to home. */
    c->home = g_canonicalize_filename(b->path[P_HOME] ? b->path[P_HOME] : DEFAULT_HOME, NULL);
    c->db_path = b->path[P_DATABASE] ? g_canonicalize_filename(b->path[P_DATABASE], c->home)
                                     : g_build_filename(c->home, "alephant.db", NULL);
    c->master_key_path = b->path[P_MASTER_KEY]
                             ? g_canonicalize_filename(b->path[P_MASTER_KEY], c->home)
                             : g_build_filename(c->home, "master.key", NULL);
    c->cache_path = b->path[P_CACHE] ? g_canonicalize_filename(b->path[P_CACHE], c->home)
                                     : g_build_filename(c->home, "cache.db", NULL);
    if (c->processes == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->processes = n < 1 ? 1 : n > 256 ? 256 : (int)n;
    }
}

GwStatus gw_conf_load_data(const char *data, gsize len, const char *path, GwConf **out,
                           GError **err)
{
    if (path == NULL)
        path = "<configuration>";
    if (data == NULL)
        len = 0;
    else if (len == (gsize)-1)
        len = strnlen(data, CONF_MAX_BYTES + 1);

    Builder b;
    builder_init(&b);
    GwStatus st = apply_file(&b, data, len, path, err);
    if (st != GW_OK) {
        builder_clear(&b);
        return st;
    }
    finish(&b);
    b.c->config_path = g_strdup(path);
    *out = b.c;
    b.c = NULL;
    builder_clear(&b);
    return GW_OK;
}

/* Reads a configuration file, refusing anything that is not a small regular file. */
static GwStatus read_conf_file(const char *path, char **data, gsize *len, GError **err)
{
    GStatBuf sb;
    if (g_stat(path, &sb) != 0) {
        int e = errno;
        return gw_fail(err, e == ENOENT ? GW_ENOTFOUND : GW_EIO, "configuration file %s: %s",
                       path, g_strerror(e));
    }
    if (!S_ISREG(sb.st_mode))
        return gw_fail(err, GW_EINVAL, "configuration file %s is not a regular file", path);
    if (sb.st_size > CONF_MAX_BYTES)
        return gw_fail(err, GW_ETOOBIG, "configuration file %s is larger than %d bytes", path,
                       CONF_MAX_BYTES);
    GError *e = NULL;
    if (!g_file_get_contents(path, data, len, &e)) {
        gw_fail(err, GW_EIO, "configuration file %s: %s", path, e->message);
        g_error_free(e);
        return GW_EIO;
    }
    return GW_OK;
}

GwStatus gw_conf_load(GwConf **out, GError **err)
{
    /* The file is found in the home the environment names (or the default one). */
    const KeySpec *home_spec = &keys[0];
    char *home_var = NULL;
    const char *home_env = env_value(home_spec, &home_var);
    g_free(home_var);

    char *conf_path = NULL;
    const char *conf_env = g_getenv("ALEPHANT_CONFIG");
    if (conf_env != NULL && *conf_env != '\0') {
        conf_path = g_canonicalize_filename(conf_env, NULL);
    } else {
        char *home = g_canonicalize_filename(home_env ? home_env : DEFAULT_HOME, NULL);
        char *candidate = g_build_filename(home, CONF_FILE_NAME, NULL);
        g_free(home);
        if (g_file_test(candidate, G_FILE_TEST_EXISTS))
            conf_path = candidate;
        else
            g_free(candidate);
    }

    char *data = NULL;
    gsize len = 0;
    GwStatus st = GW_OK;
    if (conf_path != NULL)
        st = read_conf_file(conf_path, &data, &len, err);

    Builder b;
    builder_init(&b);
    if (st == GW_OK && conf_path != NULL)
        st = apply_file(&b, data, len, conf_path, err);
    if (st == GW_OK)
        st = apply_env(&b, err);
    g_free(data);
    if (st != GW_OK) {
        g_free(conf_path);
        builder_clear(&b);
        return st;
    }
    finish(&b);
    b.c->config_path = conf_path; /* owned by the conf now; NULL when no file */
    *out = b.c;
    b.c = NULL;
    builder_clear(&b);
    return GW_OK;
}
