/* pipeline.h — one /v1 request end to end, in stages a reader can follow top to bottom:
 * adapter → auth → body/model checks → provider → upstream relay → log. Owns GwCall, the state
 * a request carries through those stages, and GwWorker, what each request thread owns. */
#ifndef GW_PIPELINE_H
#define GW_PIPELINE_H

#include <curl/curl.h>
#include <jansson.h>
#include "conf.h"
#include "crypto.h"
#include "errors.h"
#include "logger.h"
#include "request.h"
#include "store.h"
#include "tracking.h"

struct GwProvider;

/* Shared by all threads of a worker process; read-only after start. */
typedef struct {
    GwConf *conf;
    guint8 master_key[GW_MASTER_KEY_LEN];
    GwLogger *logger;
    struct GwRateLimiter *ratelimiter; /* shared by every worker process of the machine */
    GwCidrList *trusted_proxies; /* peers whose x-forwarded-for is believed (may be NULL) */
    volatile gint stopping;    /* set on SIGTERM: in-flight transfers get a grace period */
    gint64 stop_deadline_us;   /* monotonic time after which transfers are aborted */
} GwProcess;

/* Owned by one request thread: its own database connection and its own libcurl handle (whose
 * connection cache keeps upstream connections alive between requests). */
typedef struct {
    GwProcess *proc;
    GwStore *store;
    CURL *curl;
    struct GwCacheStore *cache_store; /* opened on first use by cache.c, NULL until then */
    gboolean cache_store_failed;      /* opening it failed: the cache is a miss for this thread */
} GwWorker;

typedef struct {
    gint64 prompt_tokens;      /* -1 = not reported; includes cached tokens */
    gint64 completion_tokens;  /* includes reasoning tokens */
    gint64 total_tokens;
    gint64 cached_tokens;      /* prompt tokens read from the provider's prompt cache */
    gint64 reasoning_tokens;
} GwUsage;
#define GW_USAGE_UNKNOWN { -1, -1, -1, -1, -1 }

struct GwXlateStream;
struct GwCallCache;

typedef struct GwCall {
    GwWorker *worker;
    GwRequest *req;
    GwLogRow *log;             /* filled as the request goes; submitted at the end */
    gint64 start_us;           /* monotonic */
    gint64 attempt_start_us;   /* monotonic start of the current upstream attempt */

    GwTracking tracking;       /* the optional tracking headers, parsed */
    GwVirtualKey *vk;          /* authenticated key, owned */
    GPtrArray *targets;        /* GwTarget* of the key, owned */

    /* The current attempt's target (reset for each fallback attempt): */
    const GwTarget *target;    /* borrowed from targets */
    GwProviderKey *pk;         /* its provider key, owned */
    char *secret;              /* decrypted provider secret, wiped by gw_secret_free */
    const struct GwProvider *provider;
    char *upstream_model;      /* model sent upstream (after the target's model map), or NULL */
    gboolean xlate;            /* OpenAI chat request answered by an Anthropic target */
    struct GwXlateStream *xs;  /* stream translation state while xlate streams, owned */

    char *path;                /* request path without query */
    char *path_query;          /* "/v1/…?…" validated */
    json_t *json;              /* parsed JSON body or NULL */
    char *model;               /* the model the client asked for (owned copy), NULL if none */
    gboolean client_include_usage; /* the client itself asked for stream usage */
    gboolean stream;           /* client asked for a stream */
    gboolean strip_usage_chunk;/* we added include_usage: hide the usage-only chunk */
    gboolean json_changed;     /* json was modified for this attempt: re-serialise it upstream */
    GBytes *upstream_body;     /* what is sent upstream (the client's bytes unless changed) */

    GwUsage usage;
    GPtrArray *limit_headers;  /* GwHeader*: x-ratelimit-* (and retry-after) the gateway sends */
    GPtrArray *token_charges;  /* per-rule token buckets to charge with the actual usage */
    char *reservation_id;      /* budget reservation to settle, NULL = none */
    gboolean reservation_priced; /* the reserved amount came from a price (else unbounded) */
    GString *response_log;     /* response bytes kept for the log, capped */
    gboolean response_log_truncated;
    char *upstream_request_id;
    struct GwCallCache *cache; /* response cache state (cache.c), NULL when the cache is off */
} GwCall;

typedef enum {
    GW_FWD_DONE,    /* a response was sent (or the client is gone) */
    GW_FWD_RETRY,   /* nothing was sent; the failure may be retried on another target */
} GwForward;

/* Handles one accepted request completely (response written, log row queued). io is its
 * transport (gw_request_io_fastcgi with the FCGX_Request*, or gw_request_io_cgi). */
void gw_pipeline_handle(GwWorker *w, const GwRequestIO *io, void *io_ctx);

/* Sends an OpenAI-style error (unless a response already started) and records it in the log. */
void gw_call_fail(GwCall *call, GwErrorKind kind, const char *message);

/* Common response headers (alephant-id, alephant-provider…) as a name/value array, NULL-ended;
 * valid while call lives. */
const char *const *gw_call_response_headers(GwCall *call, const char *content_type);

/* Appends response bytes to the log copy, respecting the configured cap. */
void gw_call_log_response(GwCall *call, const char *data, size_t len);

#endif
