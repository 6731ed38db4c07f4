/* tracking.c — tracking headers, client IP selection and the policy header map. Every value here
 * is client-controlled and ends up in logs, analytics and policy input, so anything kept is
 * bounded and valid UTF-8. */
#include "config.h"
#include "tracking.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#define PROPERTY_PREFIX "alephant-property-"
#define PROPERTY_PREFIX_LEN (sizeof PROPERTY_PREFIX - 1)
/* How much of a header name an error message echoes. */
#define ECHO_MAX 100

void gw_tracking_limits_default(GwTrackingLimits *l)
{
    l->max_properties = 32;
    l->max_property_name = 64;
    l->max_property_value = 1024;
    l->max_session_field = 256;
}

static void property_free(gpointer p)
{
    GwProperty *prop = p;
    if (prop == NULL)
        return;
    g_free(prop->name);
    g_free(prop->value);
    g_free(prop);
}

static int property_cmp(gconstpointer a, gconstpointer b)
{
    const GwProperty *pa = *(GwProperty *const *)a;
    const GwProperty *pb = *(GwProperty *const *)b;
    return strcmp(pa->name, pb->name);
}

/* Header name for an error message: printable ASCII only, cut. Caller frees. */
static char *echo_name(const char *name)
{
    size_t n = strnlen(name, ECHO_MAX + 1);
    GString *s = g_string_sized_new(MIN(n, (size_t)ECHO_MAX) + 3);
    for (size_t i = 0; i < n && i < ECHO_MAX; i++) {
        unsigned char c = (unsigned char)name[i];
        g_string_append_c(s, (c >= 0x20 && c < 0x7f) ? (char)c : '?');
    }
    if (n > ECHO_MAX)
        g_string_append(s, "...");
    return g_string_free(s, FALSE);
}

static GwStatus header_error(GError **err, const char *hname, const char *what)
{
    char *e = echo_name(hname);
    gw_fail(err, GW_EINVAL, "Invalid header '%s': %s", e, what);
    g_free(e);
    return GW_EINVAL;
}

/* Valid UTF-8 with no control characters (C0, DEL, C1): safe to log and display. */
static gboolean text_ok(const char *s, size_t n)
{
    if (!g_utf8_validate_len(s, n, NULL))
        return FALSE;
    for (const char *p = s; p < s + n; p = g_utf8_next_char(p))
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            return FALSE;
    return TRUE;
}

static gboolean valid_header(const GwHeader *h)
{
    return h != NULL && h->name != NULL && h->value != NULL;
}

/* First header with that name (case-insensitive), or NULL. */
static const GwHeader *find_header(GPtrArray *headers, const char *lname)
{
    if (headers == NULL)
        return NULL;
    for (guint i = 0; i < headers->len; i++) {
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (valid_header(h) && g_ascii_strcasecmp(h->name, lname) == 0)
            return h;
    }
    return NULL;
}

static GwStatus add_property(GPtrArray *props, const GwHeader *h, const GwTrackingLimits *lim,
                             GError **err)
{
    const char *pname = h->name + PROPERTY_PREFIX_LEN;
    size_t nlen = strlen(pname);
    size_t vlen = strlen(h->value);

    if (props->len >= lim->max_properties) {
        char *what = g_strdup_printf("too many alephant-property-* headers (at most %u)",
                                     lim->max_properties);
        GwStatus st = header_error(err, h->name, what);
        g_free(what);
        return st;
    }
    if (nlen == 0)
        return header_error(err, h->name, "empty property name");
    if (nlen > lim->max_property_name)
        return header_error(err, h->name, "property name too long");
    for (size_t i = 0; i < nlen; i++) {
        char c = g_ascii_tolower(pname[i]);
        if (!(g_ascii_isdigit(c) || (c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '-'))
            return header_error(err, h->name,
                                "property name may only contain a-z, 0-9, '_', '.', '-'");
    }
    if (vlen > lim->max_property_value)
        return header_error(err, h->name, "property value too long");
    /* Headers that cannot be represented as UTF-8 are ignored, never fatal (the contract). */
    if (!g_utf8_validate(h->value, (gssize)vlen, NULL))
        return GW_OK;
    if (!text_ok(h->value, vlen))
        return header_error(err, h->name, "property value must not contain control characters");

    GwProperty *p = g_new(GwProperty, 1);
    p->name = g_ascii_strdown(pname, (gssize)nlen);
    p->value = g_strndup(h->value, vlen);
    g_ptr_array_add(props, p);
    return GW_OK;
}

/* A single-valued text field (first header wins). *slot = NULL when absent or empty. */
static GwStatus take_field(GPtrArray *headers, const char *lname, gsize max, gboolean is_path,
                           char **slot, GError **err)
{
    const GwHeader *h = find_header(headers, lname);
    *slot = NULL;
    if (h == NULL || h->value[0] == '\0')
        return GW_OK;
    size_t n = strlen(h->value);
    /* A path is measured after normalisation (collapsing "//" may shorten it); the value is
     * already bounded by the web server's header size limit. */
    if (!is_path && n > max)
        return header_error(err, lname, "value too long");
    if (!text_ok(h->value, n))
        return header_error(err, lname, "value must be UTF-8 without control characters");
    char *v = is_path ? gw_session_path_normalize(h->value) : g_strndup(h->value, n);
    if (v != NULL && strlen(v) > max) {
        g_free(v);
        return header_error(err, lname, "value too long");
    }
    *slot = v;
    return GW_OK;
}

/* Two ASCII letters, upper-cased; "XX" is Cloudflare's "unknown"; "T1" (Tor) is kept. */
static void parse_country(const char *v, char out[3])
{
    out[0] = '\0';
    if (v == NULL || strlen(v) != 2)
        return;
    char a = g_ascii_toupper(v[0]), b = g_ascii_toupper(v[1]);
    gboolean letters = g_ascii_isalpha(a) && g_ascii_isalpha(b);
    if ((letters && !(a == 'X' && b == 'X')) || (a == 'T' && b == '1')) {
        out[0] = a;
        out[1] = b;
        out[2] = '\0';
    }
}

/* NULL when empty or not UTF-8; else at most GW_REFERER_MAX bytes, cut between characters. */
static char *take_referer(const char *v)
{
    if (v == NULL)
        return NULL;
    size_t n = strlen(v);
    if (n == 0 || !g_utf8_validate_len(v, n, NULL))
        return NULL;
    if (n > GW_REFERER_MAX) {
        n = GW_REFERER_MAX;
        /* Back up over continuation bytes to the start of the character that was cut. */
        while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
            n--;
    }
    return g_strndup(v, n);
}

/* ---- x-forwarded-for ---- */

/* Called per entry (trimmed, possibly empty); returns FALSE to stop the walk. */
typedef gboolean (*XffFn)(const char *p, size_t n, gpointer ud);

static gboolean xff_entry(const char *p, const char *end, XffFn fn, gpointer ud)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return fn(p, (size_t)(end - p), ud);
}

/* Visits every entry of every x-forwarded-for header, left to right or right to left. */
static void xff_walk(GPtrArray *headers, gboolean from_right, XffFn fn, gpointer ud)
{
    if (headers == NULL)
        return;
    for (guint k = 0; k < headers->len; k++) {
        guint i = from_right ? headers->len - 1 - k : k;
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (!valid_header(h) || g_ascii_strcasecmp(h->name, "x-forwarded-for") != 0)
            continue;
        const char *v = h->value, *vend = v + strlen(v);
        if (!from_right) {
            for (const char *p = v;;) {
                const char *comma = memchr(p, ',', (size_t)(vend - p));
                const char *e = comma != NULL ? comma : vend;
                if (!xff_entry(p, e, fn, ud))
                    return;
                if (comma == NULL)
                    break;
                p = comma + 1;
            }
        } else {
            for (const char *e = vend;;) {
                const char *p = e;
                while (p > v && p[-1] != ',')
                    p--;
                if (!xff_entry(p, e, fn, ud))
                    return;
                if (p == v)
                    break;
                e = p - 1;
            }
        }
    }
}

typedef struct {
    GwIp ip;
    gboolean found;
} LeftmostState;

static gboolean leftmost_valid(const char *p, size_t n, gpointer ud)
{
    LeftmostState *st = ud;
    if (gw_ip_parse(p, n, &st->ip)) {
        st->found = TRUE;
        return FALSE;
    }
    return TRUE; /* skip empty and junk entries */
}

typedef struct {
    const GwCidrList *trusted;
    GwIp candidate;  /* last address accepted so far: starts as the (trusted) peer */
} RightmostState;

static gboolean rightmost_untrusted(const char *p, size_t n, gpointer ud)
{
    RightmostState *st = ud;
    GwIp ip;
    if (!gw_ip_parse(p, n, &ip))
        return FALSE; /* junk where a trusted proxy should have written: stop at the last hop */
    st->candidate = ip;
    return gw_cidr_list_contains(st->trusted, &ip);
}

static void pick_ips(GPtrArray *headers, const char *remote_addr, const GwCidrList *trusted,
                     GwTracking *out)
{
    GwIp peer;
    gboolean peer_ok = remote_addr != NULL && gw_ip_parse(remote_addr, strlen(remote_addr), &peer);

    LeftmostState left = {.found = FALSE};
    xff_walk(headers, FALSE, leftmost_valid, &left);
    out->client_ip_from_xff = left.found;
    if (left.found)
        gw_ip_format(&left.ip, out->client_ip);
    else if (peer_ok)
        gw_ip_format(&peer, out->client_ip);

    if (!peer_ok)
        return;
    if (!gw_cidr_list_contains(trusted, &peer)) {
        gw_ip_format(&peer, out->ratelimit_ip);
        return;
    }
    RightmostState right = {.trusted = trusted, .candidate = peer};
    xff_walk(headers, TRUE, rightmost_untrusted, &right);
    gw_ip_format(&right.candidate, out->ratelimit_ip);
}

GwStatus gw_tracking_parse(GPtrArray *headers, const char *remote_addr,
                           const GwCidrList *trusted_proxies, const GwTrackingLimits *lim,
                           GwTracking *out, GError **err)
{
    GwTrackingLimits deflim;
    GwStatus st = GW_OK;

    if (lim == NULL) {
        gw_tracking_limits_default(&deflim);
        lim = &deflim;
    }
    memset(out, 0, sizeof *out);
    out->properties = g_ptr_array_new_with_free_func(property_free);

    for (guint i = 0; headers != NULL && i < headers->len && st == GW_OK; i++) {
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (!valid_header(h))
            continue;
        if (g_ascii_strncasecmp(h->name, PROPERTY_PREFIX, PROPERTY_PREFIX_LEN) == 0)
            st = add_property(out->properties, h, lim, err);
        else if (g_ascii_strcasecmp(h->name, "alephant-omit-request") == 0)
            out->omit_request = TRUE;
        else if (g_ascii_strcasecmp(h->name, "alephant-omit-response") == 0)
            out->omit_response = TRUE;
    }
    if (st == GW_OK) {
        g_ptr_array_sort(out->properties, property_cmp);
        for (guint i = 1; i < out->properties->len; i++) {
            const GwProperty *a = g_ptr_array_index(out->properties, i - 1);
            const GwProperty *b = g_ptr_array_index(out->properties, i);
            if (strcmp(a->name, b->name) == 0) {
                char *hname = g_strconcat(PROPERTY_PREFIX, b->name, NULL);
                st = header_error(err, hname, "repeated property");
                g_free(hname);
                break;
            }
        }
    }
    if (st == GW_OK)
        st = take_field(headers, "alephant-session-id", lim->max_session_field, FALSE,
                        &out->session_id, err);
    if (st == GW_OK)
        st = take_field(headers, "alephant-session-path", lim->max_session_field, TRUE,
                        &out->session_path, err);
    if (st == GW_OK)
        st = take_field(headers, "alephant-session-name", lim->max_session_field, FALSE,
                        &out->session_name, err);
    if (st == GW_OK)
        st = take_field(headers, "alephant-prompt-id", lim->max_session_field, FALSE,
                        &out->prompt_id, err);
    if (st != GW_OK) {
        gw_tracking_clear(out);
        return st;
    }

    /* The client-supplied fallback only applies when Cloudflare's header is absent. */
    const GwHeader *cf = find_header(headers, "cf-ipcountry");
    const GwHeader *country = cf != NULL ? cf : find_header(headers, "x-alephant-country-code");
    parse_country(country != NULL ? country->value : NULL, out->country);

    const GwHeader *ref = find_header(headers, "referer");
    out->referer = take_referer(ref != NULL ? ref->value : NULL);

    pick_ips(headers, remote_addr, trusted_proxies, out);
    return GW_OK;
}

void gw_tracking_clear(GwTracking *t)
{
    if (t == NULL)
        return;
    if (t->properties != NULL)
        g_ptr_array_unref(t->properties);
    g_free(t->session_id);
    g_free(t->session_path);
    g_free(t->session_name);
    g_free(t->referer);
    g_free(t->prompt_id);
    g_free(t->correlation_id);
    memset(t, 0, sizeof *t);
}

char *gw_session_path_normalize(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return NULL;
    GString *s = g_string_sized_new(strlen(path) + 1);
    g_string_append_c(s, '/');
    for (const char *p = path; *p != '\0'; p++)
        if (!(*p == '/' && s->str[s->len - 1] == '/'))
            g_string_append_c(s, *p);
    if (s->len > 1 && s->str[s->len - 1] == '/')
        g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}

static gboolean is_secret_header(const char *lname)
{
    static const char *const secrets[] = {
        "authorization", "proxy-authorization", "x-api-key", "cookie", "alephant-embeddings-key",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++)
        if (strcmp(lname, secrets[i]) == 0)
            return TRUE;
    return FALSE;
}

GHashTable *gw_tracking_policy_headers(GPtrArray *headers)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (headers == NULL)
        return t;
    for (guint i = 0; i < headers->len; i++) {
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (!valid_header(h) || !g_utf8_validate(h->name, -1, NULL) ||
            !g_utf8_validate(h->value, -1, NULL))
            continue;
        char *lname = g_ascii_strdown(h->name, -1);
        if (is_secret_header(lname)) {
            g_free(lname);
            continue;
        }
        const char *prev = g_hash_table_lookup(t, lname);
        char *v = prev != NULL ? g_strconcat(prev, ", ", h->value, NULL) : g_strdup(h->value);
        /* Replaces (and frees) the previous value and the duplicate key. */
        g_hash_table_insert(t, lname, v);
    }
    return t;
}

/* ---- request headers kept on the log row ---- */

static gboolean is_log_secret_header(const char *lname)
{
    static const char *const secrets[] = {
        "authorization", "proxy-authorization", "x-api-key", "api-key", "cookie",
        "alephant-embeddings-key",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++)
        if (g_ascii_strcasecmp(lname, secrets[i]) == 0)
            return TRUE;
    /* Credentials of other schemes (x-goog-api-key, x-auth-token, …): by their names. */
    static const char *const parts[] = {"auth", "key", "token", "secret", "password", "passwd",
                                        "cookie", "credential", "signature"};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++)
        if (strstr(lname, parts[i]) != NULL)
            return TRUE;
    return FALSE;
}

static gboolean is_b64url(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/* "vk-" followed by at least 20 base64url characters anywhere in v (a virtual key, ours or not). */
static gboolean has_vk_shape(const char *v)
{
    for (const char *p = strstr(v, "vk-"); p != NULL; p = strstr(p + 1, "vk-")) {
        size_t n = 0;
        while (is_b64url(p[3 + n]))
            n++;
        if (n >= 20)
            return TRUE;
    }
    return FALSE;
}

/* The credential values the client presented: the Bearer token and x-api-key values. */
static GPtrArray *presented_credentials(GPtrArray *headers)
{
    GPtrArray *creds = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < headers->len; i++) {
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (!valid_header(h))
            continue;
        const char *v = NULL;
        if (g_ascii_strcasecmp(h->name, "authorization") == 0) {
            v = h->value;
            while (*v == ' ' || *v == '\t')
                v++;
            if (g_ascii_strncasecmp(v, "Bearer", 6) == 0)
                v += 6;
        } else if (g_ascii_strcasecmp(h->name, "x-api-key") == 0 ||
                   g_ascii_strcasecmp(h->name, "api-key") == 0) {
            v = h->value;
        }
        if (v == NULL)
            continue;
        char *t = g_strstrip(g_strdup(v));
        if (t[0] != '\0')
            g_ptr_array_add(creds, t);
        else
            g_free(t);
    }
    return creds;
}

static gboolean contains_any(const char *v, GPtrArray *needles)
{
    for (guint i = 0; i < needles->len; i++)
        if (strstr(v, g_ptr_array_index(needles, i)) != NULL)
            return TRUE;
    return FALSE;
}

/* v cut at max bytes without splitting a UTF-8 character (v is valid UTF-8). Caller frees. */
static char *cut_utf8(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n <= max)
        return g_strdup(v);
    /* v[max] is the first byte left out: when it continues a character, that character would
     * be split, so it goes too. */
    n = max;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    return g_strndup(v, n);
}

/* The kept headers as a JSON object. With limit 0 nothing is left out for size; otherwise a
 * header that would take the object (plus room for the truncation marker) past limit bytes is left
 * out and the marker added. */
static json_t *log_headers_json(GPtrArray *headers, GPtrArray *creds, gsize limit)
{
    json_t *obj = json_object();
    gboolean truncated = FALSE;
    for (guint i = 0; i < headers->len; i++) {
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (!valid_header(h) || !g_utf8_validate(h->name, -1, NULL) ||
            !g_utf8_validate(h->value, -1, NULL))
            continue;
        char *lname = g_ascii_strdown(h->name, -1);
        if (is_log_secret_header(lname) || contains_any(h->value, creds) ||
            has_vk_shape(h->value)) {
            g_free(lname);
            continue;
        }
        const char *prev = json_string_value(json_object_get(obj, lname));
        char *joined = prev != NULL ? g_strconcat(prev, ", ", h->value, NULL) : g_strdup(h->value);
        char *v = cut_utf8(joined, GW_LOG_HEADER_VALUE_MAX);
        g_free(joined);
        json_t *old = json_incref(json_object_get(obj, lname));
        json_object_set_new(obj, lname, json_string(v));
        /* Reserve room for the truncation marker so it always fits. */
        if (limit > 0 && json_dumpb(obj, NULL, 0, JSON_COMPACT) +
                                 sizeof "\"alephant-headers-truncated\":\"true\"," > limit) {
            if (old != NULL)
                json_object_set(obj, lname, old);
            else
                json_object_del(obj, lname);
            truncated = TRUE;
        }
        json_decref(old);
        g_free(v);
        g_free(lname);
    }
    if (truncated)
        json_object_set_new(obj, "alephant-headers-truncated", json_string("true"));
    return obj;
}

char *gw_tracking_log_headers(GPtrArray *headers, gsize max_bytes)
{
    if (headers == NULL || find_header(headers, "alephant-omit-request") != NULL)
        return NULL;
    if (max_bytes == 0)
        max_bytes = GW_LOG_HEADERS_MAX;
    GPtrArray *creds = presented_credentials(headers);
    /* Usually everything fits: one pass and one size check. Only an oversized set is built again
     * header by header (measuring the object after each, quadratic but bounded by the limit). */
    json_t *obj = log_headers_json(headers, creds, 0);
    char *dumped = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (dumped != NULL &&
        strlen(dumped) + sizeof "\"alephant-headers-truncated\":\"true\"," > max_bytes) {
        free(dumped);
        obj = log_headers_json(headers, creds, max_bytes);
        dumped = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
    }
    char *text = g_strdup(dumped); /* g_free-able for the log row */
    free(dumped);
    g_ptr_array_unref(creds);
    return text;
}
