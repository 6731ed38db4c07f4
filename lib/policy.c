/* policy.c — compiling policy configs and evaluating them against a request (see policy.h). */
#include "config.h"
#include "policy.h"

#include <string.h>

#include "cidr.h"

#define GLOB_MAX 256
#define PARAM_MAX 256
#define PROPERTY_MAX 64
#define PROPERTY_PREFIX "alephant-property-"
/* Nesting followed when collecting message text (messages → content → parts → content …). */
#define SCAN_DEPTH_MAX 6
/* Zeroed bytes after each scanned text: PCRE2's JIT reads whole aligned words past the subject's
 * end (within the page, harmless), which valgrind reports when those bytes are heap slack or
 * another block. Scanning a padded copy keeps the gateway clean under valgrind. */
#define SCAN_PAD 64

typedef enum {
    K_MODEL_ALLOW,
    K_MODEL_DENY,
    K_IP_ALLOW,
    K_IP_DENY,
    K_COUNTRY_ALLOW,
    K_COUNTRY_DENY,
    K_MAX_TOKENS,
    K_MAX_REQUEST_BYTES,
    K_MAX_MESSAGES,
    K_FORBIDDEN_PARAMS,
    K_REQUIRED_PROPERTIES,
    K_CONTENT_REGEX,
    K_HOURS,
    K_COUNT
} Kind;

/* Name and the config members each kind accepts (the first one is required). */
static const struct {
    const char *name;
    const char *members[4];
} kinds[K_COUNT] = {
    [K_MODEL_ALLOW] = {"model_allow", {"models"}},
    [K_MODEL_DENY] = {"model_deny", {"models"}},
    [K_IP_ALLOW] = {"ip_allow", {"cidrs"}},
    [K_IP_DENY] = {"ip_deny", {"cidrs"}},
    [K_COUNTRY_ALLOW] = {"country_allow", {"countries"}},
    [K_COUNTRY_DENY] = {"country_deny", {"countries"}},
    [K_MAX_TOKENS] = {"max_tokens", {"max"}},
    [K_MAX_REQUEST_BYTES] = {"max_request_bytes", {"max"}},
    [K_MAX_MESSAGES] = {"max_messages", {"max"}},
    [K_FORBIDDEN_PARAMS] = {"forbidden_params", {"params"}},
    [K_REQUIRED_PROPERTIES] = {"required_properties", {"properties"}},
    [K_CONTENT_REGEX] = {"content_regex", {"pattern", "case_insensitive", "max_scan_bytes"}},
    [K_HOURS] = {"hours", {"utc_hours"}},
};

struct GwPolicy {
    gint refs;
    gint64 id;
    char *name;
    Kind kind;
    gboolean block;
    GPtrArray *globs;     /* GPatternSpec* (model kinds), lower-case */
    GwCidrList *cidrs;    /* ip kinds */
    char **names;         /* countries (upper-case), params, properties (lower-case) */
    gint64 max;           /* max_* kinds */
    GRegex *re;           /* content_regex */
    gsize scan_max;       /* content_regex */
    guint32 hours;        /* hours: bit h set = hour h (UTC) allowed */
};

static void pattern_spec_free(gpointer p)
{
    g_pattern_spec_free(p);
}

GwPolicy *gw_policy_ref(GwPolicy *p)
{
    g_atomic_int_inc(&p->refs);
    return p;
}

void gw_policy_free(GwPolicy *p)
{
    if (p == NULL || !g_atomic_int_dec_and_test(&p->refs))
        return;
    g_free(p->name);
    if (p->globs != NULL)
        g_ptr_array_unref(p->globs);
    gw_cidr_list_free(p->cidrs);
    g_strfreev(p->names);
    if (p->re != NULL)
        g_regex_unref(p->re);
    g_free(p);
}

gint64 gw_policy_id(const GwPolicy *p)
{
    return p->id;
}

const char *gw_policy_name(const GwPolicy *p)
{
    return p->name;
}

const char *gw_policy_kind(const GwPolicy *p)
{
    return kinds[p->kind].name;
}

gboolean gw_policy_blocks(const GwPolicy *p)
{
    return p->block;
}

static int kind_lookup(const char *kind)
{
    for (int k = 0; kind != NULL && k < K_COUNT; k++)
        if (strcmp(kind, kinds[k].name) == 0)
            return k;
    return -1;
}

gboolean gw_policy_kind_known(const char *kind)
{
    return kind_lookup(kind) >= 0;
}

/* ---- compiling ---- */

/* Names end up in logs, tables and client-visible errors: a plain ASCII identifier. */
static gboolean name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > GW_POLICY_NAME_MAX)
        return FALSE;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
            return FALSE;
    return TRUE;
}

static gboolean has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return TRUE;
    return FALSE;
}

/* The member `key` as a non-empty list of non-empty strings of at most max_len bytes without
 * control characters (they are echoed in reasons and tables). */
static GwStatus string_list(const char *kind, json_t *cfg, const char *key, size_t max_len,
                            json_t **out, GError **err)
{
    json_t *a = json_object_get(cfg, key);
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > GW_POLICY_LIST_MAX)
        return gw_fail(err, GW_EINVAL, "%s: \"%s\" must be a list of 1-%d strings", kind, key,
                       GW_POLICY_LIST_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (s == NULL || *s == '\0' || json_string_length(v) != strlen(s) ||
            strlen(s) > max_len || has_control(s))
            return gw_fail(err, GW_EINVAL,
                           "%s: \"%s\" entry %zu must be a string of 1-%zu printable bytes", kind,
                           key, i + 1, max_len);
    }
    *out = a;
    return GW_OK;
}

static GwStatus compile_globs(GwPolicy *p, json_t *cfg, GError **err)
{
    json_t *a;
    GwStatus gs = string_list(kinds[p->kind].name, cfg, "models", GLOB_MAX, &a, err);
    if (gs != GW_OK)
        return gs;
    p->globs = g_ptr_array_new_with_free_func(pattern_spec_free);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        /* Case-insensitive so "GPT-4o" cannot slip past a deny list of "gpt-4o*". */
        char *lower = g_ascii_strdown(json_string_value(v), -1);
        g_ptr_array_add(p->globs, g_pattern_spec_new(lower));
        g_free(lower);
    }
    return GW_OK;
}

static GwStatus compile_cidrs(GwPolicy *p, json_t *cfg, GError **err)
{
    const char *kind = kinds[p->kind].name;
    json_t *a;
    GwStatus gs = string_list(kind, cfg, "cidrs", INET6_ADDRSTRLEN + 4, &a, err);
    if (gs != GW_OK)
        return gs;
    GString *spec = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        /* One range per entry: the list parser would split "10.0.0.0/8, 1.2.3.4" silently. */
        if (strpbrk(s, ", \t") != NULL) {
            g_string_free(spec, TRUE);
            return gw_fail(err, GW_EINVAL, "%s: \"cidrs\" entry %zu must be one address or range",
                           kind, i + 1);
        }
        g_string_append(spec, s);
        g_string_append_c(spec, ' ');
    }
    GError *cerr = NULL;
    gs = gw_cidr_list_parse(spec->str, &p->cidrs, &cerr);
    g_string_free(spec, TRUE);
    if (gs != GW_OK) {
        gs = gw_fail(err, GW_EINVAL, "%s: %s", kind, cerr->message);
        g_error_free(cerr);
    }
    return gs;
}

static GwStatus compile_countries(GwPolicy *p, json_t *cfg, GError **err)
{
    const char *kind = kinds[p->kind].name;
    json_t *a;
    GwStatus gs = string_list(kind, cfg, "countries", 2, &a, err);
    if (gs != GW_OK)
        return gs;
    p->names = g_new0(char *, json_array_size(a) + 1);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        char *up = g_ascii_strup(json_string_value(v), -1);
        p->names[i] = up;
        if (strlen(up) != 2 ||
            !(strcmp(up, "T1") == 0 || (g_ascii_isalpha(up[0]) && g_ascii_isalpha(up[1]))))
            return gw_fail(err, GW_EINVAL,
                           "%s: \"countries\" entry %zu must be an ISO 3166 alpha-2 code or T1",
                           kind, i + 1);
    }
    return GW_OK;
}

static GwStatus compile_params(GwPolicy *p, json_t *cfg, GError **err)
{
    json_t *a;
    GwStatus gs = string_list(kinds[p->kind].name, cfg, "params", PARAM_MAX, &a, err);
    if (gs != GW_OK)
        return gs;
    p->names = g_new0(char *, json_array_size(a) + 1);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        p->names[i] = g_strdup(json_string_value(v));
    return GW_OK;
}

static GwStatus compile_properties(GwPolicy *p, json_t *cfg, GError **err)
{
    const char *kind = kinds[p->kind].name;
    json_t *a;
    GwStatus gs = string_list(kind, cfg, "properties", strlen(PROPERTY_PREFIX) + PROPERTY_MAX,
                              &a, err);
    if (gs != GW_OK)
        return gs;
    p->names = g_new0(char *, json_array_size(a) + 1);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (g_ascii_strncasecmp(s, PROPERTY_PREFIX, strlen(PROPERTY_PREFIX)) == 0)
            s += strlen(PROPERTY_PREFIX);
        char *lower = g_ascii_strdown(s, -1);
        p->names[i] = lower;
        /* The alphabet the tracking parser accepts: any other name could never be present. */
        gboolean ok = *lower != '\0' && strlen(lower) <= PROPERTY_MAX;
        for (const char *c = lower; ok && *c != '\0'; c++)
            ok = g_ascii_isalnum(*c) || *c == '_' || *c == '.' || *c == '-';
        if (!ok)
            return gw_fail(err, GW_EINVAL,
                           "%s: \"properties\" entry %zu must be 1-%d characters of a-z 0-9 _ . -",
                           kind, i + 1, PROPERTY_MAX);
    }
    return GW_OK;
}

static GwStatus compile_max(GwPolicy *p, json_t *cfg, GError **err)
{
    json_t *v = json_object_get(cfg, "max");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return gw_fail(err, GW_EINVAL, "%s: \"max\" must be a non-negative integer",
                       kinds[p->kind].name);
    p->max = json_integer_value(v);
    return GW_OK;
}

static GwStatus compile_regex(GwPolicy *p, json_t *cfg, GError **err)
{
    const char *kind = kinds[p->kind].name;
    json_t *pat = json_object_get(cfg, "pattern");
    const char *s = json_string_value(pat);
    if (s == NULL || *s == '\0' || json_string_length(pat) != strlen(s) ||
        strlen(s) > GW_POLICY_PATTERN_MAX)
        return gw_fail(err, GW_EINVAL, "%s: \"pattern\" must be a string of 1-%d bytes", kind,
                       GW_POLICY_PATTERN_MAX);
    json_t *ci = json_object_get(cfg, "case_insensitive");
    if (ci != NULL && !json_is_boolean(ci))
        return gw_fail(err, GW_EINVAL, "%s: \"case_insensitive\" must be true or false", kind);
    json_t *cap = json_object_get(cfg, "max_scan_bytes");
    p->scan_max = GW_POLICY_SCAN_DEFAULT;
    if (cap != NULL) {
        if (!json_is_integer(cap) || json_integer_value(cap) < 1 ||
            json_integer_value(cap) > GW_POLICY_SCAN_MAX)
            return gw_fail(err, GW_EINVAL, "%s: \"max_scan_bytes\" must be an integer 1-%d", kind,
                           GW_POLICY_SCAN_MAX);
        p->scan_max = (gsize)json_integer_value(cap);
    }
    GRegexCompileFlags flags = G_REGEX_OPTIMIZE;
    if (json_is_true(ci))
        flags |= G_REGEX_CASELESS;
    GError *rerr = NULL;
    p->re = g_regex_new(s, flags, 0, &rerr);
    if (p->re == NULL) {
        GwStatus gs = gw_fail(err, GW_EINVAL, "%s: bad \"pattern\": %s", kind, rerr->message);
        g_error_free(rerr);
        return gs;
    }
    return GW_OK;
}

static gboolean add_hours(guint32 *mask, gint64 start, gint64 end)
{
    if (start < 0 || start > 23 || end < 0 || end > 24 || start == end)
        return FALSE;
    for (gint64 h = start; h != end; h = (h + 1) % 24) {
        *mask |= 1u << h;
        if (end == 24 && h == 23)
            break;
    }
    return TRUE;
}

/* "9-17" or "9-17,20-22" (spaces allowed around numbers). */
static gboolean parse_hours_text(const char *s, guint32 *mask)
{
    char **ranges = g_strsplit(s, ",", -1);
    gboolean ok = ranges[0] != NULL;
    for (int i = 0; ok && ranges[i] != NULL; i++) {
        char **ends = g_strsplit(ranges[i], "-", -1);
        guint64 v[2] = {0, 0};
        ok = g_strv_length(ends) == 2;
        for (int j = 0; ok && j < 2; j++) {
            char *t = g_strstrip(ends[j]);
            /* Digits only: g_ascii_string_to_unsigned would accept a sign. */
            ok = *t != '\0' && strspn(t, "0123456789") == strlen(t) && strlen(t) <= 2 &&
                 g_ascii_string_to_unsigned(t, 10, 0, 24, &v[j], NULL);
        }
        ok = ok && add_hours(mask, (gint64)v[0], (gint64)v[1]);
        g_strfreev(ends);
    }
    g_strfreev(ranges);
    return ok;
}

static GwStatus compile_hours(GwPolicy *p, json_t *cfg, GError **err)
{
    json_t *v = json_object_get(cfg, "utc_hours");
    gboolean ok = FALSE;
    if (json_is_string(v)) {
        ok = json_string_length(v) <= 256 && parse_hours_text(json_string_value(v), &p->hours);
    } else if (json_is_array(v) && json_array_size(v) > 0 && json_array_size(v) <= 24) {
        size_t i;
        json_t *r;
        ok = TRUE;
        json_array_foreach(v, i, r) {
            json_t *a = json_array_get(r, 0), *b = json_array_get(r, 1);
            ok = ok && json_is_array(r) && json_array_size(r) == 2 && json_is_integer(a) &&
                 json_is_integer(b) &&
                 add_hours(&p->hours, json_integer_value(a), json_integer_value(b));
        }
    }
    if (!ok)
        return gw_fail(err, GW_EINVAL,
                       "hours: \"utc_hours\" must be \"START-END[,START-END…]\" or "
                       "[[START, END], …] with START 0-23, END 0-24, START != END");
    return GW_OK;
}

GwStatus gw_policy_compile(gint64 id, const char *name, const char *kind, const char *config_json,
                           const char *action, GwPolicy **out, GError **err)
{
    if (!name_ok(name))
        return gw_fail(err, GW_EINVAL,
                       "policy: the name must be 1-%d characters of A-Z a-z 0-9 . _ -",
                       GW_POLICY_NAME_MAX);
    int k = kind_lookup(kind);
    if (k < 0)
        return gw_fail(err, GW_EINVAL, "policy: unknown kind (see 'alephantctl policy add --help')");
    if (action != NULL && strcmp(action, "block") != 0 && strcmp(action, "flag") != 0)
        return gw_fail(err, GW_EINVAL, "policy: the action must be block or flag");
    if (config_json == NULL)
        return gw_fail(err, GW_EINVAL, "%s: a JSON config is required", kinds[k].name);
    if (strlen(config_json) > GW_POLICY_CONFIG_MAX)
        return gw_fail(err, GW_ETOOBIG, "%s: the config exceeds %d bytes", kinds[k].name,
                       GW_POLICY_CONFIG_MAX);
    json_error_t jerr;
    json_t *cfg = json_loads(config_json, JSON_REJECT_DUPLICATES, &jerr);
    if (cfg == NULL)
        return gw_fail(err, GW_EINVAL, "%s: the config is not valid JSON: %s (line %d)",
                       kinds[k].name, jerr.text, jerr.line);
    GwStatus gs = GW_OK;
    if (!json_is_object(cfg))
        gs = gw_fail(err, GW_EINVAL, "%s: the config must be a JSON object", kinds[k].name);
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v) {
        if (gs != GW_OK)
            break;
        gboolean known = FALSE;
        for (int m = 0; m < 4 && kinds[k].members[m] != NULL; m++)
            known = known || strcmp(key, kinds[k].members[m]) == 0;
        if (!known)
            gs = gw_fail(err, GW_EINVAL, "%s: unknown config member \"%s\"", kinds[k].name, key);
    }
    if (gs == GW_OK && json_object_get(cfg, kinds[k].members[0]) == NULL)
        gs = gw_fail(err, GW_EINVAL, "%s: the config needs \"%s\"", kinds[k].name,
                     kinds[k].members[0]);
    GwPolicy *p = g_new0(GwPolicy, 1);
    p->refs = 1;
    p->id = id;
    p->name = g_strdup(name);
    p->kind = (Kind)k;
    p->block = action == NULL || strcmp(action, "block") == 0;
    if (gs == GW_OK) {
        switch (p->kind) {
        case K_MODEL_ALLOW:
        case K_MODEL_DENY:
            gs = compile_globs(p, cfg, err);
            break;
        case K_IP_ALLOW:
        case K_IP_DENY:
            gs = compile_cidrs(p, cfg, err);
            break;
        case K_COUNTRY_ALLOW:
        case K_COUNTRY_DENY:
            gs = compile_countries(p, cfg, err);
            break;
        case K_MAX_TOKENS:
        case K_MAX_REQUEST_BYTES:
        case K_MAX_MESSAGES:
            gs = compile_max(p, cfg, err);
            break;
        case K_FORBIDDEN_PARAMS:
            gs = compile_params(p, cfg, err);
            break;
        case K_REQUIRED_PROPERTIES:
            gs = compile_properties(p, cfg, err);
            break;
        case K_CONTENT_REGEX:
            gs = compile_regex(p, cfg, err);
            break;
        case K_HOURS:
            gs = compile_hours(p, cfg, err);
            break;
        case K_COUNT:
            g_assert_not_reached();
        }
    }
    json_decref(cfg);
    if (gs != GW_OK) {
        gw_policy_free(p);
        return gs;
    }
    *out = p;
    return GW_OK;
}

/* ---- evaluation ---- */

static gboolean glob_match(GPatternSpec *spec, const char *s)
{
#if GLIB_CHECK_VERSION(2, 70, 0)
    return g_pattern_spec_match_string(spec, s);
#else
    return g_pattern_match_string(spec, s);
#endif
}

static gboolean model_listed(const GwPolicy *p, const char *model)
{
    char *lower = g_ascii_strdown(model, -1);
    gboolean hit = FALSE;
    for (guint i = 0; !hit && i < p->globs->len; i++)
        hit = glob_match(g_ptr_array_index(p->globs, i), lower);
    g_free(lower);
    return hit;
}

static gboolean country_listed(const GwPolicy *p, const char *country)
{
    for (char **c = p->names; *c != NULL; c++)
        if (g_ascii_strcasecmp(*c, country) == 0)
            return TRUE;
    return FALSE;
}

typedef struct {
    GRegex *re;
    gsize budget;       /* bytes still allowed to be scanned */
    gboolean hit, over, failed;
    GByteArray *copy;   /* scratch: text + SCAN_PAD zero bytes */
} Scan;

static gboolean scan_done(const Scan *sc)
{
    return sc->hit || sc->over || sc->failed;
}

static void scan_text(Scan *sc, json_t *str)
{
    gsize len = json_string_length(str);
    if (scan_done(sc) || len == 0)
        return;
    if (len > sc->budget) {
        sc->over = TRUE;
        return;
    }
    sc->budget -= len;
    if (sc->copy == NULL)
        sc->copy = g_byte_array_new();
    g_byte_array_set_size(sc->copy, (guint)(len + SCAN_PAD));
    memcpy(sc->copy->data, json_string_value(str), len);
    memset(sc->copy->data + len, 0, SCAN_PAD);
    GError *e = NULL;
    /* Explicit length: JSON strings may hold NUL bytes, which must not end the scan early. */
    if (g_regex_match_full(sc->re, (const char *)sc->copy->data, (gssize)len, 0,
                           G_REGEX_MATCH_NOTEMPTY, NULL, &e))
        sc->hit = TRUE;
    if (e != NULL) { /* match or recursion limit, JIT stack: unknown outcome */
        sc->failed = TRUE;
        g_error_free(e);
    }
}

/* Strings, lists of strings / parts ({"text": …}) / messages ({"content": …}), to any mix. */
static void scan_value(Scan *sc, json_t *v, int depth)
{
    if (v == NULL || depth > SCAN_DEPTH_MAX || scan_done(sc))
        return;
    if (json_is_string(v)) {
        scan_text(sc, v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (scan_done(sc))
                break;
            scan_value(sc, e, depth + 1);
        }
    } else if (json_is_object(v)) {
        json_t *text = json_object_get(v, "text");
        if (json_is_string(text))
            scan_text(sc, text);
        scan_value(sc, json_object_get(v, "content"), depth + 1);
    }
}

typedef enum { V_PASS, V_HIT } Verdict;

/* Judges one policy; on V_HIT *reason gets a new client-safe string. */
static Verdict judge(const GwPolicy *p, const GwPolicyInput *in, char **reason)
{
    json_t *body = json_is_object(in->body) ? in->body : NULL;
    gboolean has_model = in->model != NULL && *in->model != '\0';
    switch (p->kind) {
    case K_MODEL_ALLOW:
        if (!has_model || model_listed(p, in->model))
            return V_PASS;
        *reason = g_strdup("the requested model is not allowed");
        return V_HIT;
    case K_MODEL_DENY:
        if (!has_model || !model_listed(p, in->model))
            return V_PASS;
        *reason = g_strdup("the requested model is not allowed");
        return V_HIT;
    case K_IP_ALLOW:
    case K_IP_DENY: {
        GwIp ip;
        gboolean known = in->client_ip != NULL && *in->client_ip != '\0' &&
                         gw_ip_parse(in->client_ip, strlen(in->client_ip), &ip);
        gboolean listed = known && gw_cidr_list_contains(p->cidrs, &ip);
        if (p->kind == K_IP_ALLOW && !known) {
            *reason = g_strdup("the client IP address is unknown");
            return V_HIT;
        }
        if (p->kind == K_IP_ALLOW ? listed : !listed)
            return V_PASS;
        *reason = g_strdup("the client IP address is not allowed");
        return V_HIT;
    }
    case K_COUNTRY_ALLOW:
    case K_COUNTRY_DENY: {
        gboolean known = in->country != NULL && *in->country != '\0';
        gboolean listed = known && country_listed(p, in->country);
        if (p->kind == K_COUNTRY_ALLOW && !known) {
            *reason = g_strdup("the client country is unknown");
            return V_HIT;
        }
        if (p->kind == K_COUNTRY_ALLOW ? listed : !listed)
            return V_PASS;
        *reason = g_strdup("requests from the client country are not allowed");
        return V_HIT;
    }
    case K_MAX_TOKENS:
        if (in->max_tokens < 0 || in->max_tokens <= p->max)
            return V_PASS;
        *reason = g_strdup_printf("max_tokens exceeds the limit of %" G_GINT64_FORMAT, p->max);
        return V_HIT;
    case K_MAX_REQUEST_BYTES:
        if ((guint64)in->body_bytes <= (guint64)p->max)
            return V_PASS;
        *reason = g_strdup_printf("the request body exceeds the limit of %" G_GINT64_FORMAT
                                  " bytes", p->max);
        return V_HIT;
    case K_MAX_MESSAGES: {
        json_t *m = body != NULL ? json_object_get(body, "messages") : NULL;
        if (!json_is_array(m) || (guint64)json_array_size(m) <= (guint64)p->max)
            return V_PASS;
        *reason = g_strdup_printf("the request has more than %" G_GINT64_FORMAT " messages",
                                  p->max);
        return V_HIT;
    }
    case K_FORBIDDEN_PARAMS:
        for (char **n = p->names; body != NULL && *n != NULL; n++) {
            if (json_object_get(body, *n) != NULL) {
                *reason = g_strdup_printf("the parameter \"%s\" is not allowed", *n);
                return V_HIT;
            }
        }
        return V_PASS;
    case K_REQUIRED_PROPERTIES:
        for (char **n = p->names; *n != NULL; n++) {
            if (in->properties == NULL || !g_hash_table_contains(in->properties, *n)) {
                *reason = g_strdup_printf("the property alephant-property-%s is required", *n);
                return V_HIT;
            }
        }
        return V_PASS;
    case K_CONTENT_REGEX: {
        Scan sc = {.re = p->re, .budget = p->scan_max};
        if (body != NULL) {
            static const char *const fields[] = {"messages", "system", "prompt", "input"};
            for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
                scan_value(&sc, json_object_get(body, fields[i]), 0);
        }
        if (sc.hit)
            *reason = g_strdup(p->block ? "message text matches a blocked pattern"
                                        : "message text matches a flagged pattern");
        else if (sc.over)
            *reason = g_strdup("message text is too large to be checked");
        else if (sc.failed)
            *reason = g_strdup("message text could not be checked");
        if (sc.copy != NULL)
            g_byte_array_unref(sc.copy);
        return scan_done(&sc) ? V_HIT : V_PASS;
    }
    case K_HOURS: {
        /* Floor division: correct for times before 1970 too. */
        gint64 h = in->now_ms / 3600000;
        if (in->now_ms % 3600000 < 0)
            h--;
        h %= 24;
        if (h < 0)
            h += 24;
        if (p->hours & (1u << h))
            return V_PASS;
        *reason = g_strdup("requests are not allowed at this hour (UTC)");
        return V_HIT;
    }
    case K_COUNT:
        break;
    }
    g_assert_not_reached();
}

void gw_policy_decision_free(GwPolicyDecision *d)
{
    if (d == NULL)
        return;
    g_free(d->policy_name);
    g_free(d->rule);
    g_free(d->decision);
    g_free(d->reason);
    g_free(d);
}

gboolean gw_policy_evaluate(GPtrArray *policies, const GwPolicyInput *in, GPtrArray *decisions,
                            const GwPolicyDecision **blocking)
{
    if (blocking != NULL)
        *blocking = NULL;
    for (guint i = 0; policies != NULL && i < policies->len; i++) {
        const GwPolicy *p = g_ptr_array_index(policies, i);
        char *reason = NULL;
        Verdict v = judge(p, in, &reason);
        GwPolicyDecision *d = g_new0(GwPolicyDecision, 1);
        d->policy_id = p->id;
        d->policy_name = g_strdup(p->name);
        d->rule = g_strdup(kinds[p->kind].name);
        d->decision = g_strdup(v == V_PASS ? "allow" : p->block ? "block" : "flag");
        d->reason = reason;
        g_ptr_array_add(decisions, d);
        if (v == V_HIT && p->block) {
            if (blocking != NULL)
                *blocking = d;
            return TRUE;
        }
    }
    return FALSE;
}
