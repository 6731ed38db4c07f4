/* cache_opts.c — parsing the cache headers. Booleans are on only for "true" (any case); anything
 * else is off, as the contract says. Numbers are parsed strictly (whole value, decimal). */
#include "config.h"
#include "cache_opts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *header(const GPtrArray *headers, const char *lname)
{
    for (guint i = 0; headers != NULL && i < headers->len; i++) {
        const GwHeader *h = g_ptr_array_index(headers, i);
        if (strcmp(h->name, lname) == 0)
            return h->value;
    }
    return NULL;
}

static gboolean is_true(const char *v)
{
    if (v == NULL)
        return FALSE;
    char *s = g_strstrip(g_strdup(v));
    gboolean yes = g_ascii_strcasecmp(s, "true") == 0;
    g_free(s);
    return yes;
}

void gw_cache_opts_clear(GwCacheOpts *o)
{
    g_free(o->seed);
    g_free(o->emb_model);
    g_free(o->emb_key);
    memset(o, 0, sizeof *o);
}

/* Parses "S" (digits only) into *out, saturating at max. */
static gboolean parse_seconds(const char *s, gsize len, gint64 max, gint64 *out)
{
    if (len == 0 || len > 64)
        return FALSE;
    gint64 v = 0;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        if (v <= max)
            v = v * 10 + (s[i] - '0');
    }
    *out = MIN(v, max);
    return TRUE;
}

GwStatus gw_cache_control_ttl(const char *value, gint64 *ttl_s, GError **err)
{
    gint64 max_age = -1, s_maxage = -1;
    if (value != NULL) {
        char **parts = g_strsplit(value, ",", 64);
        for (guint i = 0; parts[i] != NULL; i++) {
            char *p = g_strstrip(parts[i]);
            char *eq = strchr(p, '=');
            char *name = g_strstrip(g_strndup(p, eq != NULL ? (gsize)(eq - p) : strlen(p)));
            gint64 *slot = g_ascii_strcasecmp(name, "max-age") == 0    ? &max_age
                           : g_ascii_strcasecmp(name, "s-maxage") == 0 ? &s_maxage
                                                                        : NULL;
            g_free(name);
            if (slot == NULL)
                continue; /* no-cache, public, … mean nothing to the gateway's cache */
            char *v = eq != NULL ? g_strstrip(g_strdup(eq + 1)) : g_strdup("");
            gsize vl = strlen(v);
            /* A quoted value is allowed by RFC 9111's grammar for robustness. */
            const char *vs = v;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                vs = v + 1;
                vl -= 2;
            }
            gboolean ok = parse_seconds(vs, vl, GW_CACHE_MAX_TTL_S, slot);
            g_free(v);
            if (!ok) {
                g_strfreev(parts);
                return gw_fail(err, GW_EINVAL, "Alephant-Cache-Control: max-age and s-maxage "
                               "take a number of seconds (e.g. max-age=3600)");
            }
        }
        g_strfreev(parts);
    }
    *ttl_s = s_maxage >= 0 ? s_maxage : max_age >= 0 ? max_age : GW_CACHE_DEFAULT_TTL_S;
    return GW_OK;
}

static GwStatus parse_buckets(const char *v, int *out, GError **err)
{
    gint64 n = 0;
    char *s = g_strstrip(g_strdup(v));
    gboolean ok = g_ascii_string_to_signed(s, 10, 1, GW_CACHE_BUCKETS_MAX, &n, NULL);
    g_free(s);
    if (!ok)
        return gw_fail(err, GW_EINVAL, "Alephant-Cache-Bucket-Max-Size must be an integer from "
                       "1 to %d", GW_CACHE_BUCKETS_MAX);
    *out = (int)n;
    return GW_OK;
}

static GwStatus parse_threshold(const char *v, double *out, GError **err)
{
    char *s = g_strstrip(g_strdup(v));
    char *end = NULL;
    double d = *s != '\0' ? g_ascii_strtod(s, &end) : (double)NAN;
    gboolean ok = end != NULL && *end == '\0' && isfinite(d) && d > 0 && d <= 1;
    g_free(s);
    if (!ok)
        return gw_fail(err, GW_EINVAL, "Alephant-Cache-Semantic-Threshold must be a number "
                       "greater than 0 and at most 1 (e.g. 0.95)");
    *out = d;
    return GW_OK;
}

/* Alephant-Cache-Ttl: seconds, clamped to a year. */
static GwStatus parse_ttl(const char *v, gint64 *out, GError **err)
{
    char *s = g_strstrip(g_strdup(v));
    gboolean ok = parse_seconds(s, strlen(s), GW_CACHE_MAX_TTL_S, out);
    g_free(s);
    if (!ok)
        return gw_fail(err, GW_EINVAL, "Alephant-Cache-Ttl must be a number of seconds");
    return GW_OK;
}

static char *short_value(const char *v, gsize max)
{
    if (v == NULL)
        return NULL;
    char *s = g_strstrip(g_strdup(v));
    if (*s == '\0' || strlen(s) > max) {
        g_free(s);
        return NULL;
    }
    return s;
}

GwStatus gw_cache_opts_parse(const GPtrArray *headers, GwCacheOpts *out, GError **err)
{
    memset(out, 0, sizeof *out);
    gboolean all = is_true(header(headers, "alephant-cache-enabled"));
    out->read = all || is_true(header(headers, "alephant-cache-read"));
    out->save = all || is_true(header(headers, "alephant-cache-save"));
    out->buckets = 1;
    out->ttl_s = GW_CACHE_DEFAULT_TTL_S;
    out->threshold = GW_CACHE_DEFAULT_THRESHOLD;
    if (!out->read && !out->save)
        return GW_OK;
    GwStatus st = GW_OK;
    const char *v;
    if ((v = header(headers, "alephant-cache-bucket-max-size")) != NULL)
        st = parse_buckets(v, &out->buckets, err);
    if (st == GW_OK)
        st = gw_cache_control_ttl(header(headers, "alephant-cache-control"), &out->ttl_s, err);
    if (st == GW_OK && (v = header(headers, "alephant-cache-ttl")) != NULL)
        st = parse_ttl(v, &out->ttl_s, err);
    if (st == GW_OK && (v = header(headers, "alephant-cache-semantic-threshold")) != NULL)
        st = parse_threshold(v, &out->threshold, err);
    if (st == GW_OK && (v = header(headers, "alephant-cache-seed")) != NULL) {
        if (strlen(v) > GW_CACHE_SEED_MAX)
            st = gw_fail(err, GW_EINVAL, "Alephant-Cache-Seed is longer than %d bytes",
                         GW_CACHE_SEED_MAX);
        else
            out->seed = g_strdup(v);
    }
    if (st == GW_OK && (v = header(headers, "alephant-embeddings-model")) != NULL &&
        (out->emb_model = short_value(v, 256)) == NULL)
        st = gw_fail(err, GW_EINVAL, "Alephant-Embeddings-Model must name a model (at most 256 "
                     "bytes)");
    if (st == GW_OK && (v = header(headers, "alephant-embeddings-key")) != NULL &&
        (out->emb_key = short_value(v, 512)) == NULL)
        st = gw_fail(err, GW_EINVAL, "Alephant-Embeddings-Key must be a virtual key (vk-…)");
    if (st != GW_OK)
        gw_cache_opts_clear(out);
    return st;
}
