/* request.h — one client request as the gateway sees it: CGI parameters and headers read from a
 * FastCGI request, the bounded body, and the response writer (status, headers, flushed chunks). */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>
#include <glib.h>
#include <fcgiapp.h>
#include "status.h"

typedef struct {
    char *name;   /* lower-case */
    char *value;
} GwHeader;

typedef struct {
    FCGX_Request *fcgx;        /* borrowed */
    const char *method;        /* borrowed from the FastCGI environment */
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

/* Fills req from an accepted FastCGI request. Headers with names that are not valid tokens or
 * values with CR/LF/NUL are skipped. At most max_headers headers are kept: *too_many is set
 * when more arrived. */
void gw_request_init(GwRequest *req, FCGX_Request *fcgx, guint max_headers, gboolean *too_many);
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
