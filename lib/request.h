/* request.h — one client request as the gateway sees it: CGI parameters and headers, the bounded
 * body, and the response writer (status, headers, flushed chunks). How the bytes move is a small
 * I/O table with two backends: FastCGI (a libfcgi request, many per process) and plain CGI (the
 * process's environment, stdin and stdout: one request per process). */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>
#include <glib.h>
#include "status.h"

/* The transport of one request. ctx is the backend's own (FCGX_Request* for FastCGI, unused for
 * CGI). Every function is called from the request's thread only. */
typedef struct GwRequestIO {
    const char *name;                                      /* "fastcgi" or "cgi" */
    const char *(*param)(void *ctx, const char *name);     /* CGI parameter or NULL */
    char **(*params)(void *ctx);                           /* all of them, "NAME=value", NULL-ended */
    /* Up to len body bytes: > 0 bytes read, 0 at the end of the body, < 0 on an error. */
    gssize (*read)(void *ctx, char *buf, size_t len);
    gboolean (*write)(void *ctx, const char *data, size_t len); /* FALSE: the client is gone */
    gboolean (*flush)(void *ctx);                               /* FALSE: the client is gone */
    gboolean (*peer_closed)(void *ctx);                         /* non-blocking */
} GwRequestIO;

/* FastCGI: ctx is an accepted FCGX_Request*. Output goes through its FCGX streams; the web server
 * hanging up shows as POLLRDHUP on its ipcFd or as an error on the out stream. */
extern const GwRequestIO gw_request_io_fastcgi;
/* Plain CGI: ctx is ignored. Parameters from the environment (getenv/environ), the body from
 * fd 0, output buffered on stdout and pushed by flush. The client is gone when a write fails
 * (EPIPE), stdout polls POLLERR/POLLHUP (the server closed its end), or the server sent SIGTERM
 * (lighttpd's mod_cgi does when the client disconnects). Call gw_request_cgi_setup() first. */
extern const GwRequestIO gw_request_io_cgi;

/* CGI mode: ignores SIGPIPE, turns SIGTERM/SIGINT/SIGHUP into "the client is gone" for
 * gw_request_io_cgi (the process then finishes its request and its log row instead of dying),
 * and makes stdout fully buffered. */
void gw_request_cgi_setup(void);
/* CGI mode: flushes stdout and closes it (fd 1 then points at /dev/null), which ends the response
 * for the web server while the process still writes its log. */
void gw_request_cgi_finish(void);

typedef struct {
    char *name;   /* lower-case */
    char *value;
} GwHeader;

typedef struct {
    const GwRequestIO *io;     /* the transport (static) */
    void *io_ctx;              /* its context, borrowed */
    const char *method;        /* borrowed from the CGI parameters */
    const char *uri;           /* REQUEST_URI: path and query as the client sent them */
    const char *remote_addr;
    const char *content_type;  /* NULL when absent */
    gint64 content_length;     /* -1 when absent */
    GPtrArray *headers;        /* GwHeader*, in arrival order, owned */
    GByteArray *body;          /* owned, NULL until read */

    /* response state */
    gboolean headers_sent;
    gboolean client_gone;      /* a write or flush failed, or the peer hung up */
    gint64 bytes_sent;
} GwRequest;

/* Fills req from a request's parameters (io and io_ctx are kept for the body and the response:
 * they must outlive req). Headers with names that are not valid tokens or
 * values with CR/LF/NUL are skipped. At most max_headers headers are kept: *too_many is set
 * when more arrived. */
void gw_request_init(GwRequest *req, const GwRequestIO *io, void *io_ctx, guint max_headers,
                     gboolean *too_many);
void gw_request_clear(GwRequest *req);

/* First header with that lower-case name, or NULL. *count (may be NULL) gets how many there were. */
const char *gw_request_header(const GwRequest *req, const char *lname, guint *count);

/* Reads the body (CONTENT_LENGTH bytes, or to EOF when absent) into req->body.
 * GW_ETOOBIG past max_bytes (nothing more is read), GW_EIO when the client went away early. */
GwStatus gw_request_read_body(GwRequest *req, gint64 max_bytes, GError **err);

/* Writes "Status:" and headers (a NULL-terminated name/value array plus the extra list of
 * GwHeader*, may be NULL) once. Later calls are ignored. */
void gw_response_start(GwRequest *req, int status, const char *const *pairs, GPtrArray *extra);
/* Writes body bytes; FALSE once the client is gone. */
gboolean gw_response_write(GwRequest *req, const void *data, size_t len);
/* Pushes buffered bytes to the web server now (one SSE event). FALSE once the client is gone. */
gboolean gw_response_flush(GwRequest *req);
/* Non-blocking check whether the web server closed our connection (client disconnect). */
gboolean gw_request_peer_closed(GwRequest *req);

#endif
