/* request.c — FastCGI request adapter: environment → GwRequest, bounded body reads, and a response
 * writer that notices a vanished client (libfcgi reports it only through FCGX_GetError). */
#include "config.h"
#include "request.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include "headers.h"

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

static const char *env_get(FCGX_Request *f, const char *name)
{
    return FCGX_GetParam(name, f->envp);
}

void gw_request_init(GwRequest *req, FCGX_Request *fcgx, guint max_headers, gboolean *too_many)
{
    memset(req, 0, sizeof(*req));
    req->fcgx = fcgx;
    req->method = env_get(fcgx, "REQUEST_METHOD");
    req->uri = env_get(fcgx, "REQUEST_URI");
    req->remote_addr = env_get(fcgx, "REMOTE_ADDR");
    req->content_type = env_get(fcgx, "CONTENT_TYPE");
    req->content_length = -1;
    const char *cl = env_get(fcgx, "CONTENT_LENGTH");
    if (cl != NULL && *cl != '\0') {
        guint64 v;
        if (g_ascii_string_to_unsigned(cl, 10, 0, G_MAXINT64, &v, NULL))
            req->content_length = (gint64)v;
        else
            req->content_length = G_MAXINT64; /* unparseable: treated as too large */
    }
    req->headers = g_ptr_array_new_with_free_func(header_free);
    if (too_many != NULL)
        *too_many = FALSE;
    for (char **e = fcgx->envp; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, "HTTP_", 5) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        char *pname = g_strndup(*e, (gsize)(eq - *e));
        char *lname = gw_header_name_from_cgi(pname);
        g_free(pname);
        const char *val = eq + 1;
        if (lname == NULL || !gw_header_value_is_safe(val, strlen(val))) {
            g_free(lname);
            continue;
        }
        if (req->headers->len >= max_headers) {
            g_free(lname);
            if (too_many != NULL)
                *too_many = TRUE;
            continue;
        }
        GwHeader *h = g_new(GwHeader, 1);
        h->name = lname;
        h->value = g_strdup(val);
        g_ptr_array_add(req->headers, h);
    }
    /* CONTENT_TYPE is not an HTTP_ parameter but must reach the provider. */
    if (req->content_type != NULL && gw_header_value_is_safe(req->content_type, strlen(req->content_type))) {
        GwHeader *h = g_new(GwHeader, 1);
        h->name = g_strdup("content-type");
        h->value = g_strdup(req->content_type);
        g_ptr_array_add(req->headers, h);
    }
}

void gw_request_clear(GwRequest *req)
{
    if (req->headers != NULL)
        g_ptr_array_unref(req->headers);
    if (req->body != NULL)
        g_byte_array_unref(req->body);
    memset(req, 0, sizeof(*req));
}

const char *gw_request_header(const GwRequest *req, const char *lname, guint *count)
{
    const char *first = NULL;
    guint n = 0;
    for (guint i = 0; i < req->headers->len; i++) {
        GwHeader *h = g_ptr_array_index(req->headers, i);
        if (strcmp(h->name, lname) == 0) {
            if (first == NULL)
                first = h->value;
            n++;
        }
    }
    if (count != NULL)
        *count = n;
    return first;
}

GwStatus gw_request_read_body(GwRequest *req, gint64 max_bytes, GError **err)
{
    if (req->content_length > max_bytes)
        return gw_fail(err, GW_ETOOBIG, "Request body is larger than the limit of %" G_GINT64_FORMAT
                       " bytes", max_bytes);
    gint64 want = req->content_length >= 0 ? req->content_length : max_bytes + 1;
    req->body = g_byte_array_sized_new((guint)MIN(want, (gint64)65536));
    char buf[16384];
    while ((gint64)req->body->len < want) {
        int chunk = (int)MIN((gint64)sizeof(buf), want - (gint64)req->body->len);
        int n = FCGX_GetStr(buf, chunk, req->fcgx->in);
        if (n <= 0)
            break;
        g_byte_array_append(req->body, (const guint8 *)buf, (guint)n);
    }
    if ((gint64)req->body->len > max_bytes)
        return gw_fail(err, GW_ETOOBIG, "Request body is larger than the limit of %" G_GINT64_FORMAT
                       " bytes", max_bytes);
    if (req->content_length >= 0 && (gint64)req->body->len < req->content_length)
        return gw_fail(err, GW_EIO, "The client closed the connection before sending the whole body");
    return GW_OK;
}

static void put(GwRequest *req, const char *s, size_t len)
{
    if (req->client_gone)
        return;
    if (FCGX_PutStr(s, (int)len, req->fcgx->out) < 0 || FCGX_GetError(req->fcgx->out) != 0)
        req->client_gone = TRUE;
}

static void put_header(GwRequest *req, const char *name, const char *value)
{
    /* Values come from us or from upstream headers already checked; refuse CR/LF anyway so a
     * header can never be split. */
    if (value == NULL || !gw_header_value_is_safe(value, strlen(value)))
        return;
    put(req, name, strlen(name));
    put(req, ": ", 2);
    put(req, value, strlen(value));
    put(req, "\r\n", 2);
}

void gw_response_start(GwRequest *req, int status, const char *const *pairs, GPtrArray *extra)
{
    if (req->headers_sent)
        return;
    req->headers_sent = TRUE;
    char line[32];
    int n = g_snprintf(line, sizeof(line), "Status: %d\r\n", status);
    put(req, line, (size_t)n);
    for (guint i = 0; pairs != NULL && pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
        put_header(req, pairs[i], pairs[i + 1]);
    for (guint i = 0; extra != NULL && i < extra->len; i++) {
        GwHeader *h = g_ptr_array_index(extra, i);
        put_header(req, h->name, h->value);
    }
    put(req, "\r\n", 2);
}

gboolean gw_response_write(GwRequest *req, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0 && !req->client_gone) {
        size_t n = MIN(len, (size_t)(1 << 20));
        put(req, p, n);
        p += n;
        len -= n;
        req->bytes_sent += (gint64)n;
    }
    return !req->client_gone;
}

gboolean gw_response_flush(GwRequest *req)
{
    if (req->client_gone)
        return FALSE;
    /* FCGX_FFlush reports EPIPE only once; the error flag stays set afterwards. */
    if (FCGX_FFlush(req->fcgx->out) < 0 || FCGX_GetError(req->fcgx->out) != 0)
        req->client_gone = TRUE;
    return !req->client_gone;
}

gboolean gw_request_peer_closed(GwRequest *req)
{
    if (req->client_gone)
        return TRUE;
    if (req->fcgx == NULL || req->fcgx->ipcFd < 0)
        return FALSE;
    /* POLLRDHUP, not POLLIN: Apache leaves an empty STDIN record readable. */
    struct pollfd pfd = { .fd = req->fcgx->ipcFd, .events = POLLRDHUP };
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
        req->client_gone = TRUE;
    return req->client_gone;
}
