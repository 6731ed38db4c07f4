/* analytics.h — spend, traffic, errors, latency and cache metrics over a time range: per time
 * bucket and broken down by a dimension. SQL in store_analytics.c; the pure pieces (bucket choice,
 * percentile rank, CSV) in analytics.c. */
#ifndef GW_ANALYTICS_H
#define GW_ANALYTICS_H

#include <glib.h>
#include <jansson.h>
#include "status.h"
#include "store.h"

#define GW_HOUR_MS G_GINT64_CONSTANT(3600000)
#define GW_DAY_MS G_GINT64_CONSTANT(86400000)
#define GW_ANALYTICS_MAX_RANGE_MS (400 * GW_DAY_MS)
#define GW_ANALYTICS_TOP_MAX 100

typedef enum {
    GW_DIM_MODEL,
    GW_DIM_PROVIDER,
    GW_DIM_VIRTUAL_KEY,
    GW_DIM_AGENT,
    GW_DIM_DEPARTMENT,
    GW_DIM_PROPERTY,
} GwAnalyticsDim;

/* "model", "provider", "virtual_key", "agent", "department", "property". */
GwStatus gw_analytics_dim_parse(const char *s, GwAnalyticsDim *out, GError **err);
const char *gw_analytics_dim_name(GwAnalyticsDim d);

/* Bucket for a range: an hour up to 48 hours, else a day (UTC). */
gint64 gw_analytics_bucket_ms(gint64 from_ms, gint64 to_ms);

/* 1-based rank of the pct-th percentile among n sorted values, nearest-rank method:
 * ceil(pct × n / 100), at least 1 (0 when n is 0). The SQL computes the same. */
gint64 gw_percentile_rank(gint64 n, int pct);

/* Metrics of every row object (series points, breakdown rows, totals): requests, cost_nanos,
 * cost_usd, prompt_tokens, completion_tokens, total_tokens, errors (status ≥ 400 or none),
 * error_rate, latency_p50_ms, latency_p95_ms (nearest rank over rows with a latency), cache_hits,
 * cache_lookups (rows with a cache status), cache_hit_rate (null without lookups),
 * cache_saved_nanos, cache_saved_usd. Sums over only unknown values are null. */

/* Range [from_ms, to_ms) widened to whole buckets (UTC). *out = {"from", "to", "bucket": "hour" |
 * "day", "bucket_ms", "series": [{"start", metrics…}] (one per bucket, empty ones with zero
 * requests), "totals": {metrics…}}. GW_EINVAL for an empty or too long range. */
GwStatus gw_store_analytics_series_json(GwStore *st, gint64 from_ms, gint64 to_ms, json_t **out,
                                        GError **err);
/* The top rows of dim (by requests, then key) in [from_ms, to_ms): *out = {"from", "to", "by",
 * "property", "rows": [{"key": text or null (no value), metrics…}]}. property: the property
 * name for GW_DIM_PROPERTY (required), ignored otherwise. top: 1 … GW_ANALYTICS_TOP_MAX. */
GwStatus gw_store_analytics_breakdown_json(GwStore *st, gint64 from_ms, gint64 to_ms,
                                           GwAnalyticsDim dim, const char *property, int top,
                                           json_t **out, GError **err);

/* CSV (RFC 4180, header row, CRLF) of a series or breakdown object as returned above; keys and
 * labels are guarded against formula injection. Caller frees. */
char *gw_analytics_series_csv(json_t *series);
char *gw_analytics_breakdown_csv(json_t *breakdown);

#endif
