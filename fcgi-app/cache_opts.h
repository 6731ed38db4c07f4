/* cache_opts.h — the cache request headers of the contract (Alephant-Cache-*, Alephant-Embeddings-*)
 * parsed and validated into GwCacheOpts, and Alephant-Cache-Control's lifetime with its clamping.
 * Pure functions over the request's header list; none of these headers is ever forwarded. */
#ifndef GW_CACHE_OPTS_H
#define GW_CACHE_OPTS_H

#include <glib.h>
#include "request.h"
#include "status.h"

#define GW_CACHE_BUCKETS_MAX 20
#define GW_CACHE_DEFAULT_TTL_S (7 * 86400)
#define GW_CACHE_MAX_TTL_S (365 * 86400)
#define GW_CACHE_DEFAULT_THRESHOLD 0.95
#define GW_CACHE_SEED_MAX 256

typedef struct {
    gboolean read;             /* serve from the cache */
    gboolean save;             /* save the upstream answer */
    int buckets;               /* Alephant-Cache-Bucket-Max-Size, 1..20, default 1 */
    char *seed;                /* Alephant-Cache-Seed, NULL = none (owned) */
    gint64 ttl_s;              /* lifetime of a saved entry, 0..365 days (0 = do not save) */
    /* semantic (used only when the workspace has it configured) */
    char *emb_model;           /* Alephant-Embeddings-Model, NULL = none (owned) */
    char *emb_key;             /* Alephant-Embeddings-Key, NULL = the request's own key (owned) */
    double threshold;          /* Alephant-Cache-Semantic-Threshold, (0, 1], default 0.95 */
} GwCacheOpts;

/* Fills *out from headers (GwHeader*, lower-case names). With neither read nor save on, the other
 * headers are not looked at and GW_OK is returned. On an invalid value GW_EINVAL with a message
 * naming the header (the caller answers 400); *out is then cleared. Clear with
 * gw_cache_opts_clear. */
GwStatus gw_cache_opts_parse(const GPtrArray *headers, GwCacheOpts *out, GError **err);
void gw_cache_opts_clear(GwCacheOpts *o);

/* Lifetime in seconds from a Cache-Control style value: max-age=S or s-maxage=S (s-maxage wins,
 * whatever the order), other directives ignored, clamped to GW_CACHE_MAX_TTL_S; NULL or no
 * lifetime directive → GW_CACHE_DEFAULT_TTL_S. GW_EINVAL when a lifetime directive has no
 * non-negative integer value. */
GwStatus gw_cache_control_ttl(const char *value, gint64 *ttl_s, GError **err);

#endif
