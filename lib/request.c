/* request.c — the request adapter: CGI parameters → GwRequest, bounded body reads, and a response
 * writer that notices a vanished client, over two transports: FastCGI (libfcgi, which reports a
 * vanished client only through FCGX_GetError) and plain CGI (environ, stdin, stdout). */
#include "config.h"
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcgiapp.h>
#include "headers.h"

extern char **environ;

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

/* ---- FastCGI: one accepted FCGX_Request ---- */

static const char *fcgi_param(void *ctx, const char *name)
{
    FCGX_Request *f = ctx;
    return FCGX_GetParam(name, f->envp);
}

static char **fcgi_params(void *ctx)
{
    FCGX_Request *f = ctx;
    return f->envp;
}

static gssize fcgi_read(void *ctx, char *buf, size_t len)
{
    FCGX_Request *f = ctx;
    return FCGX_GetStr(buf, (int)MIN(len, (size_t)INT_MAX), f->in);
}

static gboolean fcgi_write(void *ctx, const char *data, size_t len)
{
    FCGX_Request *f = ctx;
    return FCGX_PutStr(data, (int)len, f->out) >= 0 && FCGX_GetError(f->out) == 0;
}

static gboolean fcgi_flush(void *ctx)
{
    FCGX_Request *f = ctx;
    /* FCGX_FFlush reports EPIPE only once; the error flag stays set afterwards. */
    return FCGX_FFlush(f->out) >= 0 && FCGX_GetError(f->out) == 0;
}

static gboolean fcgi_peer_closed(void *ctx)
{
    FCGX_Request *f = ctx;
    if (f == NULL || f->ipcFd < 0)
        return FALSE;
    /* POLLRDHUP, not POLLIN: Apache leaves an empty STDIN record readable. */
    struct pollfd pfd = { .fd = f->ipcFd, .events = POLLRDHUP };
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

const GwRequestIO gw_request_io_fastcgi = {
    .name = "fastcgi",
    .param = fcgi_param,
    .params = fcgi_params,
    .read = fcgi_read,
    .write = fcgi_write,
    .flush = fcgi_flush,
    .peer_closed = fcgi_peer_closed,
};

/* ---- plain CGI: this process's environment, stdin and stdout ---- */

static volatile sig_atomic_t cgi_signalled;

static void on_cgi_signal(int sig)
{
    (void)sig;
    cgi_signalled = 1;
}

void gw_request_cgi_setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_cgi_signal, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Bytes leave only on flush (one SSE event) or when the buffer fills. */
    setvbuf(stdout, NULL, _IOFBF, 65536);
}

void gw_request_cgi_finish(void)
{
    fflush(stdout);
    /* Closing fd 1 is what tells the web server the response is complete; /dev/null takes its
     * place so that a stray write cannot land in some file opened later as fd 1. */
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        if (fd != STDOUT_FILENO)
            close(fd);
    } else {
        close(STDOUT_FILENO);
    }
}

static const char *cgi_param(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static char **cgi_params(void *ctx)
{
    (void)ctx;
    return environ;
}

static gssize cgi_read(void *ctx, char *buf, size_t len)
{
    (void)ctx;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, MIN(len, (size_t)G_MAXSSIZE));
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

static gboolean cgi_write(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    return fwrite(data, 1, len, stdout) == len && !ferror(stdout);
}

static gboolean cgi_flush(void *ctx)
{
    (void)ctx;
    return fflush(stdout) == 0 && !ferror(stdout);
}

static gboolean cgi_peer_closed(void *ctx)
{
    (void)ctx;
    if (cgi_signalled)
        return TRUE;
    /* A pipe whose reader closed polls POLLERR; a socket whose peer closed polls POLLHUP. */
    struct pollfd pfd = { .fd = STDOUT_FILENO, .events = 0 };
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

const GwRequestIO gw_request_io_cgi = {
    .name = "cgi",
    .param = cgi_param,
    .params = cgi_params,
    .read = cgi_read,
    .write = cgi_write,
    .flush = cgi_flush,
    .peer_closed = cgi_peer_closed,
};

/* The path the gateway routes on. Under CGI the program may be mounted below a prefix (Apache's
 * ScriptAlias /gw /usr/lib/cgi-bin/alephant-gateway, or lighttpd's /cgi-bin/alephant-gateway):
 * then REQUEST_URI is SCRIPT_NAME + "/v1/…" and the SCRIPT_NAME prefix is dropped. A REQUEST_URI
 * that already starts with /v1/ (the program mounted at /v1/) is used as it is, as under FastCGI. */
static const char *cgi_route_uri(const char *uri, const char *script_name)
{
    if (uri == NULL || g_str_has_prefix(uri, "/v1/") || script_name == NULL)
        return uri;
    size_t n = strlen(script_name);
    while (n > 0 && script_name[n - 1] == '/')
        n--;
    if (n > 0 && strncmp(uri, script_name, n) == 0 && g_str_has_prefix(uri + n, "/v1/"))
        return uri + n;
    return uri;
}

void gw_request_init(GwRequest *req, const GwRequestIO *io, void *io_ctx, guint max_headers,
                     gboolean *too_many)
{
    memset(req, 0, sizeof(*req));
    req->io = io;
    req->io_ctx = io_ctx;
    req->method = io->param(io_ctx, "REQUEST_METHOD");
    req->uri = io->param(io_ctx, "REQUEST_URI");
    if (io == &gw_request_io_cgi)
        req->uri = cgi_route_uri(req->uri, io->param(io_ctx, "SCRIPT_NAME"));
    req->remote_addr = io->param(io_ctx, "REMOTE_ADDR");
    req->content_type = io->param(io_ctx, "CONTENT_TYPE");
    req->content_length = -1;
    const char *cl = io->param(io_ctx, "CONTENT_LENGTH");
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
    for (char **e = io->params(io_ctx); e != NULL && *e != NULL; e++) {
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
        size_t chunk = (size_t)MIN((gint64)sizeof(buf), want - (gint64)req->body->len);
        gssize n = req->io->read(req->io_ctx, buf, chunk);
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
    if (!req->io->write(req->io_ctx, s, len))
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
    if (!req->io->flush(req->io_ctx))
        req->client_gone = TRUE;
    return !req->client_gone;
}

gboolean gw_request_peer_closed(GwRequest *req)
{
    if (req->client_gone)
        return TRUE;
    if (req->io != NULL && req->io->peer_closed(req->io_ctx))
        req->client_gone = TRUE;
    return req->client_gone;
}
