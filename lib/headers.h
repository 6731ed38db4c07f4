/* headers.h — HTTP header rules: CGI parameter names to header names, which request headers are
 * gateway-only or dropped before forwarding, and which upstream response headers are relayed. */
#ifndef GW_HEADERS_H
#define GW_HEADERS_H

#include <stddef.h>
#include <glib.h>

typedef enum {
    GW_HDR_FORWARD,   /* sent upstream unchanged */
    GW_HDR_GATEWAY,   /* consumed by the gateway, never forwarded (alephant-*, x-alephant-*,
                         authorization, x-api-key, x-request-id) */
    GW_HDR_DROP,      /* never forwarded: hop-by-hop, host, content-length, accept-encoding,
                         cookie, x-forwarded-*, forwarded, x-real-ip, cf-*, proxy-* */
} GwHeaderClass;

/* "HTTP_X_API_KEY" → "x-api-key" (lower-case, '_' → '-'). Returns NULL when param does not start
 * with "HTTP_" or the rest is empty or has characters outside [A-Za-z0-9_-]. Caller frees. */
char *gw_header_name_from_cgi(const char *param);

/* Classifies a lower-case request header name. */
GwHeaderClass gw_header_classify(const char *lname);

/* TRUE when value has no CR, LF or NUL among its len bytes (safe to put on an HTTP line). */
gboolean gw_header_value_is_safe(const char *value, size_t len);

/* TRUE when an upstream response header (lower-case name) may be relayed to the client:
 * content-type, openai-*, anthropic-*, x-ratelimit-*, retry-after, x-request-id, request-id,
 * and similar provider metadata; never hop-by-hop, content-length, content-encoding, set-cookie,
 * server, date or anything that could carry credentials. */
gboolean gw_header_relay_response(const char *lname);

#endif
