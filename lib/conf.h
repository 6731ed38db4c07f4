/* conf.h — the gateway's configuration: alephant.conf (GLib key-file) with ALEPHANT_* environment
 * overrides, validated once at start (unknown keys and bad values are refused with file and key). */
#ifndef GW_CONF_H
#define GW_CONF_H

#include <glib.h>
#include "status.h"

typedef struct {
    char *home;               /* state directory: $ALEPHANT_HOME, [paths] home, default ./var */
    char *config_path;        /* file read, or NULL when none exists */
    char *db_path;            /* [paths] database, default $home/alephant.db */
    char *master_key_path;    /* [paths] master_key, default $home/master.key */

    int processes;            /* [gateway] processes: worker processes (0 = number of cores) */
    int threads;              /* [gateway] threads: request threads per worker process */
    gint64 max_request_bytes; /* [gateway] max_request_bytes: request body limit (413), 10 MiB */
    gint64 max_response_bytes;/* [gateway] max_response_bytes: buffered upstream answer limit (502), 64 MiB */
    gint64 log_body_max_bytes;/* [logging] body_max_bytes: bodies stored in logs are cut here, 256 KiB */
    gboolean log_bodies;      /* [logging] bodies: store request/response bodies, default true */
    int connect_timeout_ms;   /* [upstream] connect_timeout_ms, 10 s */
    int first_byte_timeout_ms;/* [upstream] first_byte_timeout_ms: no byte from upstream → 504, 300 s */
    int request_timeout_ms;   /* [upstream] timeout_ms: whole transfer, 1800 s (streams last minutes) */
    int low_speed_time_s;     /* [upstream] low_speed_time_s: abort below 1 byte/s for this long, 120 */
    gboolean allow_private_upstreams; /* [upstream] allow_private: plain http / private addresses */
    gboolean response_headers;/* [gateway] response_headers: send alephant-provider etc., default true */
    int keepalive_interval_ms;/* [gateway] stream_keepalive_ms: SSE comment while upstream is silent */
    char *trusted_proxies;    /* [gateway] trusted_proxies: CIDRs whose x-forwarded-for is believed
                                 for rate limiting (comma-separated), "" = none */
    int max_attempts;         /* [upstream] max_attempts: upstream tries per request (fallback), 3 */
    int retry_backoff_ms;     /* [upstream] retry_backoff_ms: first backoff, doubled per try, jittered */
    /* ---- [cache] (the response cache, see README "Response cache") ---- */
    gboolean cache_enabled;   /* [cache] enabled: honour the Alephant-Cache-* headers, default true */
    char *cache_path;         /* [cache] path: the cache database, default $home/cache.db */
    gint64 cache_max_size_mb; /* [cache] max_size_mb: stored bytes cap (LRU eviction), 1024 */
    char *cache_scope;        /* [cache] scope: virtual_key | agent | department, default virtual_key */
    gboolean cache_semantic;  /* [cache] semantic: semantic lookups allowed, default false */
    gint64 cache_semantic_max_entries; /* [cache] semantic_max_entries: vectors kept, 100000 */
    char *cache_embeddings_model; /* [cache] embeddings_model: default when no header names one, "" */
    /* ---- end [cache] ---- */
    /* ---- [admin]: the admin program (admin-cgi/) ---- */
    int admin_threads;               /* [admin] threads: FastCGI request threads, 4 */
    int admin_session_idle_s;        /* [admin] session_idle_timeout_s: idle sessions end, 1800 */
    int admin_session_max_s;         /* [admin] session_max_age_s: any session ends, 43200 */
    int admin_login_max_failures;    /* [admin] login_max_failures: per user name per window, 5 */
    int admin_login_max_failures_ip; /* [admin] login_max_failures_ip: per client address, 20 */
    int admin_login_window_s;        /* [admin] login_window_s: failures counted this long, 900 */
} GwConf;

/* Loads configuration. The file is $ALEPHANT_CONFIG, else $home/alephant.conf when it exists
 * (no file is fine: defaults apply). Environment overrides: ALEPHANT_HOME, ALEPHANT_CONFIG,
 * ALEPHANT_PROCESSES, ALEPHANT_THREADS, ALEPHANT_ALLOW_PRIVATE_UPSTREAMS (1/0), and
 * ALEPHANT_<SECTION>_<KEY> for every other key (e.g. ALEPHANT_UPSTREAM_TIMEOUT_MS).
 * On error *out is untouched and err names the file/variable and key. Free with gw_conf_free. */
GwStatus gw_conf_load(GwConf **out, GError **err);

/* Same, from an explicit key-file text (for tests and fuzzing); path is only used in messages. */
GwStatus gw_conf_load_data(const char *data, gsize len, const char *path, GwConf **out, GError **err);

void gw_conf_free(GwConf *conf);

#endif
