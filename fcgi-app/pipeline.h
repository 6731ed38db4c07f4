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

struct GwProvider;

/* Shared by all threads of a worker process; read-only after start. */
typedef struct {
    GwConf *conf;
    guint8 master_key[GW_MASTER_KEY_LEN];
    GwLogger *logger;
    volatile gint stopping;    /* set on SIGTERM: in-flight transfers get a grace period */
    gint64 stop_deadline_us;   /* monotonic time after which transfers are aborted */
} GwProcess;

/* Owned by one request thread: its own database connection and its own libcurl handle (whose
 * connection cache keeps upstream connections alive between requests). */
typedef struct {
    GwProcess *proc;
    GwStore *store;
    CURL *curl;
} GwWorker;

typedef struct {
    gint64 prompt_tokens;      /* -1 = not reported */
    gint64 completion_tokens;
    gint64 total_tokens;
} GwUsage;

typedef struct GwCall {
    GwWorker *worker;
    GwRequest *req;
    GwLogRow *log;             /* filled as the request goes; submitted at the end */
    gint64 start_us;           /* monotonic */

    GwVirtualKey *vk;          /* authenticated key, owned */
    GwProviderKey *pk;         /* its provider key, owned */
    char *secret;              /* decrypted provider secret, wiped by gw_secret_free */
    const struct GwProvider *provider;

    char *path;                /* request path without query */
    char *path_query;          /* "/v1/…?…" validated */
    json_t *json;              /* parsed JSON body or NULL */
    const char *model;         /* borrowed from json */
    gboolean stream;           /* client asked for a stream */
    gboolean strip_usage_chunk;/* we added include_usage: hide the usage-only chunk */
    GBytes *upstream_body;     /* what is sent upstream (the client's bytes unless changed) */

    GwUsage usage;
    GString *response_log;     /* response bytes kept for the log, capped */
    gboolean response_log_truncated;
    char *upstream_request_id;
} GwCall;

/* Handles one accepted request completely (response written, log row queued). */
void gw_pipeline_handle(GwWorker *w, FCGX_Request *fcgx);

/* Sends an OpenAI-style error (unless a response already started) and records it in the log. */
void gw_call_fail(GwCall *call, GwErrorKind kind, const char *message);

/* Common response headers (alephant-id, alephant-provider…) as a name/value array, NULL-ended;
 * valid while call lives. */
const char *const *gw_call_response_headers(GwCall *call, const char *content_type);

/* Appends response bytes to the log copy, respecting the configured cap. */
void gw_call_log_response(GwCall *call, const char *data, size_t len);

#endif
