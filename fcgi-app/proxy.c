/* proxy.c — forwarding a request to the provider with libcurl and relaying the answer.
 *
 * - Non-stream answers are buffered (bounded by max_response_bytes) so usage can be read and a
 *   broken upstream turned into a clean 502; then relayed with the upstream's status.
 * - text/event-stream answers are relayed event by event as they arrive: bytes are held only
 *   until the blank line that ends an event, each event is written and flushed at once, and a
 *   copy is parsed on the side for usage. A usage-only chunk the gateway asked for on the client's
 *   behalf is dropped.
 * - The transfer is aborted when the client goes away (POLLRDHUP on the FastCGI socket, or a
 *   failed flush), when no first byte arrives in time, when the stream stalls, or at shutdown.
 * - Connections go only where operators pointed them: no redirects, http/https only, and
 *   private addresses refused at connect time unless allowed. */
#include "config.h"
#include "proxy.h"

#include <string.h>
#include <sys/socket.h>
#include "headers.h"
#include "netaddr.h"
#include "providers/provider.h"
#include "sse.h"
#include "translate_anthropic.h"

typedef enum {
    XFER_OK,
    XFER_CLIENT_GONE,
    XFER_FIRST_BYTE_TIMEOUT,
    XFER_STALLED,
    XFER_TOO_BIG,
    XFER_SHUTDOWN,
    XFER_BAD_STREAM,
} XferAbort;

typedef struct {
    GwCall *call;
    const GwConf *conf;
    int status;
    GPtrArray *resp_headers;     /* GwHeader* to relay */
    char *content_type;
    gboolean started;            /* first body byte seen */
    gboolean is_sse;
    gint64 last_byte_us;
    gint64 bytes;                /* body bytes received so far */
    gint64 speed_window_us;      /* start of the current low-speed window (after the first byte) */
    gint64 speed_window_bytes;   /* bytes at that start */
    gint64 last_peer_check_us;
    gint64 last_client_write_us; /* for SSE keep-alive comments */
    GByteArray *buffer;          /* non-stream body */
    GString *pending;            /* SSE bytes not yet ending an event */
    GwSseParser *sse;
    gboolean drop_event;         /* set by the SSE callback for the event being parsed */
    GString *xlate_out;          /* translated events of the event being parsed (xlate) */
    gboolean blocked_address;    /* opensocket refused a private address */
    XferAbort abort;
} Xfer;

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

CURL *gw_proxy_curl_new(void)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        g_error("curl_easy_init failed");
    return c;
}

/* ---- libcurl callbacks ---- */

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    Xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new status line (e.g. after 100 Continue) starts a new header block. */
        g_ptr_array_set_size(x->resp_headers, 0);
        g_clear_pointer(&x->content_type, g_free);
        long code = 0;
        curl_easy_getinfo(x->call->worker->curl, CURLINFO_RESPONSE_CODE, &code);
        x->status = (int)code;
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL || colon == buf || len > 16384)
        return len;
    char *name = g_ascii_strdown(buf, colon - buf);
    char *value = g_strstrip(g_strndup(colon + 1, len - (size_t)(colon + 1 - buf)));
    if (!gw_header_value_is_safe(value, strlen(value))) {
        g_free(name);
        g_free(value);
        return len;
    }
    if (strcmp(name, "content-type") == 0) {
        g_free(x->content_type);
        x->content_type = g_strdup(value);
    }
    if ((strcmp(name, "x-request-id") == 0 || strcmp(name, "request-id") == 0) &&
        x->call->upstream_request_id == NULL && strlen(value) <= 256)
        x->call->upstream_request_id = g_strdup(value);
    if (gw_header_relay_response(name) && strcmp(name, "content-type") != 0) {
        GwHeader *h = g_new(GwHeader, 1);
        h->name = name;
        h->value = value;
        g_ptr_array_add(x->resp_headers, h);
        return len;
    }
    g_free(name);
    g_free(value);
    return len;
}

static void on_sse_event(const char *event, const char *data, size_t len, void *ud)
{
    Xfer *x = ud;
    GwCall *call = x->call;
    if (len == 0 || data[0] != '{')
        return; /* "[DONE]" and non-JSON payloads carry no usage */
    json_t *obj = json_loadb(data, len, 0, NULL);
    if (obj == NULL)
        return;
    call->provider->usage_from_event(event, obj, &call->usage);
    if (call->xlate) {
        GError *err = NULL;
        if (gw_xlate_stream_event(call->xs, event, obj, x->xlate_out, &err) != GW_OK) {
            g_debug("stream translation: %s", err->message);
            g_error_free(err);
        }
    } else if (call->strip_usage_chunk) {
        json_t *choices = json_object_get(obj, "choices");
        if (json_is_array(choices) && json_array_size(choices) == 0 &&
            json_is_object(json_object_get(obj, "usage")))
            x->drop_event = TRUE;
    }
    json_decref(obj);
}

/* Length of the first complete event in s (through its terminating blank line), or 0. */
static size_t sse_event_end(const char *s, size_t len)
{
    gboolean line_start = TRUE; /* at the start of a line: a terminator here ends the event */
    for (size_t i = 0; i < len; i++) {
        size_t term = 0;
        if (s[i] == '\n')
            term = 1;
        else if (s[i] == '\r') {
            if (i + 1 == len)
                return 0; /* might be the first half of CRLF: wait for more */
            term = s[i + 1] == '\n' ? 2 : 1;
        }
        if (term == 0) {
            line_start = FALSE;
            continue;
        }
        if (line_start)
            return i + term;
        line_start = TRUE;
        i += term - 1;
    }
    return 0;
}

static void start_client_response(Xfer *x, const char *content_type)
{
    GwCall *call = x->call;
    call->log->status = x->status;
    /* The gateway's own rate-limit headers replace the provider's (which describe the
     * provider key's quota, shared by every virtual key on it). */
    for (guint i = call->limit_headers != NULL ? x->resp_headers->len : 0; i > 0; i--) {
        GwHeader *h = g_ptr_array_index(x->resp_headers, i - 1);
        if (g_str_has_prefix(h->name, "x-ratelimit-"))
            g_ptr_array_remove_index(x->resp_headers, i - 1);
    }
    gw_response_start(call->req, x->status, gw_call_response_headers(call, content_type),
                      x->resp_headers);
}

static gboolean relay_sse(Xfer *x, const char *buf, size_t len)
{
    GwCall *call = x->call;
    g_string_append_len(x->pending, buf, (gssize)len);
    gboolean wrote = FALSE;
    size_t off = 0, n;
    while ((n = sse_event_end(x->pending->str + off, x->pending->len - off)) > 0) {
        const char *ev = x->pending->str + off;
        x->drop_event = FALSE;
        if (gw_sse_parser_feed(x->sse, ev, n) != GW_OK) {
            x->abort = XFER_BAD_STREAM;
            return FALSE;
        }
        if (call->xlate) {
            if (x->xlate_out->len > 0) {
                gw_response_write(call->req, x->xlate_out->str, x->xlate_out->len);
                gw_call_log_response(call, x->xlate_out->str, x->xlate_out->len);
                g_string_truncate(x->xlate_out, 0);
                wrote = TRUE;
            }
        } else if (!x->drop_event) {
            gw_response_write(call->req, ev, n);
            gw_call_log_response(call, ev, n);
            wrote = TRUE;
        }
        off += n;
    }
    g_string_erase(x->pending, 0, (gssize)off);
    if (x->pending->len > (gsize)x->conf->max_response_bytes) {
        x->abort = XFER_BAD_STREAM;
        return FALSE;
    }
    if (wrote) {
        x->last_client_write_us = g_get_monotonic_time();
        if (!gw_response_flush(call->req)) {
            x->abort = XFER_CLIENT_GONE;
            return FALSE;
        }
    }
    return TRUE;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    Xfer *x = ud;
    GwCall *call = x->call;
    size_t len = size * n;
    x->last_byte_us = g_get_monotonic_time();
    x->bytes += (gint64)len;
    if (!x->started) {
        x->started = TRUE;
        x->speed_window_us = x->last_byte_us;
        call->log->ttfb_ms = (x->last_byte_us - call->start_us) / 1000;
        x->is_sse = x->status >= 200 && x->status < 300 && x->content_type != NULL &&
                    g_ascii_strncasecmp(x->content_type, "text/event-stream", 17) == 0;
        if (x->is_sse)
            start_client_response(x, x->content_type);
    }
    if (x->is_sse)
        return relay_sse(x, buf, len) ? len : 0;
    if ((gint64)x->buffer->len + (gint64)len > x->conf->max_response_bytes) {
        x->abort = XFER_TOO_BIG;
        return 0;
    }
    g_byte_array_append(x->buffer, (const guint8 *)buf, (guint)len);
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    Xfer *x = ud;
    GwCall *call = x->call;
    const GwConf *conf = x->conf;
    gint64 now = g_get_monotonic_time();
    /* Polling the FastCGI socket costs a syscall: a few times a second is plenty. */
    if (now - x->last_peer_check_us >= 100000) {
        x->last_peer_check_us = now;
        if (gw_request_peer_closed(call->req)) {
            x->abort = XFER_CLIENT_GONE;
            return 1;
        }
    }
    /* A started stream whose provider is thinking: an SSE comment keeps proxies and clients
     * from timing out, and a failed write is how a vanished client shows itself. */
    if (x->is_sse && now - x->last_client_write_us >= (gint64)conf->keepalive_interval_ms * 1000) {
        static const char comment[] = ": keepalive\n\n";
        x->last_client_write_us = now;
        gw_response_write(call->req, comment, sizeof(comment) - 1);
        if (!gw_response_flush(call->req)) {
            x->abort = XFER_CLIENT_GONE;
            return 1;
        }
    }
    if (!x->started && now - call->attempt_start_us > (gint64)conf->first_byte_timeout_ms * 1000) {
        x->abort = XFER_FIRST_BYTE_TIMEOUT;
        return 1;
    }
    /* Low-speed limit: a started transfer silent for low_speed_time_s, or trickling below
     * 1 byte/s on average over such a window (windows restart when one is passed), is aborted. */
    gint64 window_us = (gint64)conf->low_speed_time_s * G_USEC_PER_SEC;
    if (x->started && now - x->last_byte_us > window_us) {
        x->abort = XFER_STALLED;
        return 1;
    }
    if (x->started && now - x->speed_window_us >= window_us) {
        if (x->bytes - x->speed_window_bytes < (gint64)conf->low_speed_time_s) {
            x->abort = XFER_STALLED;
            return 1;
        }
        x->speed_window_us = now;
        x->speed_window_bytes = x->bytes;
    }
    GwProcess *proc = call->worker->proc;
    if (g_atomic_int_get(&proc->stopping) && now > proc->stop_deadline_us) {
        x->abort = XFER_SHUTDOWN;
        return 1;
    }
    return 0;
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    Xfer *x = ud;
    if (!x->conf->allow_private_upstreams && gw_addr_is_private(&addr->addr)) {
        x->blocked_address = TRUE;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* ---- request building ---- */

static struct curl_slist *build_headers(GwCall *call)
{
    struct curl_slist *list = NULL;
    GPtrArray *hs = call->req->headers;
    for (guint i = 0; i < hs->len; i++) {
        GwHeader *h = g_ptr_array_index(hs, i);
        if (gw_header_classify(h->name) != GW_HDR_FORWARD)
            continue;
        char *line = g_strconcat(h->name, ": ", h->value, NULL);
        list = curl_slist_append(list, line);
        g_free(line);
    }
    list = call->provider->add_auth(list, call);
    /* curl would label a body without Content-Type as a form; send none, as the client did. */
    if (call->req->content_type == NULL)
        list = curl_slist_append(list, "Content-Type:");
    /* No "Expect: 100-continue" round trip, and no compressed answers we would have to inflate
     * to read usage; curl adds neither Accept-Encoding nor a User-Agent of its own. */
    list = curl_slist_append(list, "Expect:");
    return list;
}

static void setup(CURL *c, GwCall *call, Xfer *x, const char *url, struct curl_slist *headers)
{
    const GwConf *conf = x->conf;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, conf->allow_private_upstreams ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)conf->request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, x);
    const char *method = call->req->method;
    gsize blen = 0;
    const void *body = call->upstream_body != NULL ? g_bytes_get_data(call->upstream_body, &blen) : NULL;
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, blen > 0 ? body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* ---- finishing ---- */

/* An Anthropic answer to a translated OpenAI request, re-shaped as OpenAI's (errors included). */
static void finish_translated(Xfer *x, json_t *obj)
{
    GwCall *call = x->call;
    json_t *out = NULL;
    GError *err = NULL;
    if (x->status >= 200 && x->status < 300) {
        if (obj == NULL || gw_xlate_response_from_anthropic(obj, &out, &err) != GW_OK) {
            g_clear_error(&err);
            gw_call_fail(call, GW_E_UPSTREAM_BAD_RESPONSE,
                         "The upstream provider's answer could not be translated");
            return;
        }
    } else {
        out = gw_xlate_error_from_anthropic(obj, x->status);
    }
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    start_client_response(x, "application/json");
    gw_response_write(call->req, s, strlen(s));
    gw_call_log_response(call, s, strlen(s));
    free(s);
}

static void finish_buffered(Xfer *x)
{
    GwCall *call = x->call;
    json_t *obj = NULL;
    if (x->buffer->len > 0 && x->buffer->data[0] == '{') {
        obj = json_loadb((const char *)x->buffer->data, x->buffer->len, 0, NULL);
        if (obj != NULL)
            call->provider->usage_from_response(obj, &call->usage);
    }
    if (call->xlate) {
        finish_translated(x, obj);
    } else {
        const char *ct = x->content_type != NULL ? x->content_type : "application/octet-stream";
        start_client_response(x, ct);
        gw_response_write(call->req, x->buffer->data, x->buffer->len);
        gw_call_log_response(call, (const char *)x->buffer->data, x->buffer->len);
    }
    json_decref(obj);
}

/* The stream already started: tell the client in-band, as an SSE error event the OpenAI and
 * Anthropic SDKs raise as an error. */
static void stream_error_event(GwCall *call, GwErrorKind kind, const char *message)
{
    char *json = gw_error_json(kind, message);
    char *ev = g_strconcat("event: error\ndata: ", json, "\n\n", NULL);
    gw_response_write(call->req, ev, strlen(ev));
    gw_response_flush(call->req);
    gw_call_log_response(call, ev, strlen(ev));
    g_free(ev);
    g_free(json);
    call->log->error_code = g_strdup(gw_error_code(kind));
    call->log->error_message = g_strdup(message);
}

/* What a failed transfer means for the client. Returns FALSE for a client that went away (no
 * error to send). */
static gboolean classify_failure(const Xfer *x, CURLcode rc, GwErrorKind *kind, const char **msg,
                                 gboolean *retryable)
{
    *retryable = FALSE;
    switch (x->abort) {
    case XFER_CLIENT_GONE:
        return FALSE;
    case XFER_FIRST_BYTE_TIMEOUT:
        *kind = GW_E_UPSTREAM_TIMEOUT;
        *msg = "The upstream provider did not answer in time";
        *retryable = TRUE;
        return TRUE;
    case XFER_STALLED:
        *kind = GW_E_UPSTREAM_TIMEOUT;
        *msg = "The upstream provider stopped sending data (below 1 byte/s)";
        *retryable = !x->started;
        return TRUE;
    case XFER_TOO_BIG:
        *kind = GW_E_UPSTREAM_BAD_RESPONSE;
        *msg = "The upstream provider's answer is larger than the gateway accepts";
        return TRUE;
    case XFER_BAD_STREAM:
        *kind = GW_E_UPSTREAM_BAD_RESPONSE;
        *msg = "The upstream provider sent a malformed event stream";
        return TRUE;
    case XFER_SHUTDOWN:
        *kind = GW_E_UNAVAILABLE;
        *msg = "The gateway is shutting down";
        return TRUE;
    case XFER_OK:
    default:
        break;
    }
    *retryable = !x->started;
    if (x->blocked_address) {
        *kind = GW_E_UPSTREAM_UNREACHABLE;
        *msg = "The provider's address is private and private upstreams are not allowed";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        *kind = GW_E_UPSTREAM_TIMEOUT;
        *msg = "The upstream provider did not answer in time";
    } else {
        *kind = GW_E_UPSTREAM_UNREACHABLE;
        *msg = x->started ? "The connection to the upstream provider broke"
                          : "Could not connect to the upstream provider";
    }
    return TRUE;
}

static GwForward fail_transfer(Xfer *x, CURLcode rc, const char *errbuf, gboolean may_retry,
                               GwAttempt *att)
{
    GwCall *call = x->call;
    GwErrorKind kind = GW_E_INTERNAL;
    const char *msg = NULL;
    gboolean retryable;
    if (errbuf[0] != '\0')
        g_debug("upstream transfer failed: %s", errbuf);
    if (!classify_failure(x, rc, &kind, &msg, &retryable)) {
        att->error_code = g_strdup("client_disconnected");
        call->log->error_code = g_strdup("client_disconnected");
        call->log->error_message = g_strdup("The client closed the connection; the upstream "
                                            "transfer was aborted");
        if (!call->req->headers_sent)
            call->log->status = 499;
        return GW_FWD_DONE;
    }
    att->error_code = g_strdup(gw_error_code(kind));
    if (may_retry && retryable && !call->req->headers_sent)
        return GW_FWD_RETRY;
    if (call->req->headers_sent)
        stream_error_event(call, kind, msg);
    else
        gw_call_fail(call, kind, msg);
    return GW_FWD_DONE;
}

static gboolean status_is_retryable(int status)
{
    return status == 429 || status >= 500;
}

GwForward gw_proxy_forward(GwCall *call, gboolean may_retry, GwAttempt *att)
{
    GwWorker *w = call->worker;
    Xfer x = {
        .call = call,
        .conf = w->proc->conf,
        .resp_headers = g_ptr_array_new_with_free_func(header_free),
        .buffer = g_byte_array_new(),
        .pending = g_string_new(NULL),
        .xlate_out = g_string_new(NULL),
        .last_peer_check_us = g_get_monotonic_time(),
    };
    x.sse = gw_sse_parser_new((size_t)MIN(x.conf->max_response_bytes, (gint64)G_MAXSIZE),
                              on_sse_event, &x);
    if (call->xlate && call->stream)
        call->xs = gw_xlate_stream_new(call->client_include_usage);
    char *url = call->provider->upstream_url(call);
    struct curl_slist *headers = build_headers(call);
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = w->curl;
    curl_easy_reset(c);
    setup(c, call, &x, url, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    GwForward result = GW_FWD_DONE;

    if (rc == CURLE_OK && x.abort == XFER_OK) {
        if (!x.started) {
            long code = 0;
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            x.status = (int)code;
            call->log->ttfb_ms = (g_get_monotonic_time() - call->start_us) / 1000;
        }
        att->status = x.status;
        if (!x.is_sse && may_retry && status_is_retryable(x.status)) {
            result = GW_FWD_RETRY; /* nothing was sent: the next target may answer */
        } else if (x.is_sse) {
            if (x.pending->len > 0 || gw_sse_parser_has_partial(x.sse))
                stream_error_event(call, GW_E_UPSTREAM_BAD_RESPONSE,
                                   "The upstream stream ended in the middle of an event");
            else
                gw_response_flush(call->req);
        } else {
            finish_buffered(&x);
        }
        if (result == GW_FWD_DONE && call->req->client_gone && call->log->error_code == NULL) {
            call->log->error_code = g_strdup("client_disconnected");
            call->log->error_message = g_strdup("The client closed the connection before the "
                                                "answer was delivered");
        }
    } else {
        att->status = x.status;
        result = fail_transfer(&x, rc, errbuf, may_retry, att);
    }

    /* Leave nothing of this request (the credential header) on the reused handle. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    for (struct curl_slist *l = headers; l != NULL; l = l->next)
        memset(l->data, 0, strlen(l->data)); /* one of them holds the provider secret */
    curl_slist_free_all(headers);
    g_free(url);
    gw_sse_parser_free(x.sse);
    g_string_free(x.pending, TRUE);
    g_string_free(x.xlate_out, TRUE);
    g_byte_array_unref(x.buffer);
    g_ptr_array_unref(x.resp_headers);
    g_free(x.content_type);
    return result;
}
