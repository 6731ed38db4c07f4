/* tracking.h — the optional tracking headers of a request (properties, session, country, referer,
 * omit flags, prompt id), the client IPs for policy and rate limiting, and policy header maps. */
#ifndef GW_TRACKING_H
#define GW_TRACKING_H

#include <glib.h>
#include "cidr.h"
#include "request.h"
#include "status.h"

typedef struct {
    char *name;    /* lower-case, without the "alephant-property-" prefix */
    char *value;   /* valid UTF-8, no control characters */
} GwProperty;

typedef struct {
    guint max_properties;        /* default 32 */
    gsize max_property_name;     /* default 64 bytes */
    gsize max_property_value;    /* default 1024 bytes */
    gsize max_session_field;     /* default 256 bytes (session id, path, name; also prompt id) */
} GwTrackingLimits;

void gw_tracking_limits_default(GwTrackingLimits *l);

#define GW_REFERER_MAX 2048

typedef struct {
    GPtrArray *properties;       /* GwProperty* (owned), sorted by name, unique; never NULL after
                                    a successful parse */
    char *session_id, *session_path, *session_name;   /* NULL when absent or empty */
    char country[3];             /* upper-case ISO 3166 alpha-2 or "T1" (Tor), "" when unknown */
    char *referer;               /* NULL when absent, empty or not valid UTF-8; at most
                                    GW_REFERER_MAX bytes, cut at a UTF-8 character boundary */
    gboolean omit_request, omit_response;  /* header present (any value) */
    char *prompt_id;             /* alephant-prompt-id, NULL when absent or empty */
    char client_ip[INET6_ADDRSTRLEN];      /* policy IP: leftmost valid x-forwarded-for, else peer;
                                              "" when unknown */
    gboolean client_ip_from_xff;           /* client_ip came from x-forwarded-for */
    char ratelimit_ip[INET6_ADDRSTRLEN];   /* XFF trusted only when the peer is a trusted proxy;
                                              "" when the peer address is unknown */
    char *correlation_id;        /* unused here; reserved (freed by gw_tracking_clear) */
} GwTracking;

/* Parses headers (GwHeader*, borrowed; NULL = none) into *out, which is overwritten (not freed
 * first). remote_addr is the direct peer (REMOTE_ADDR; NULL/"" = unknown). trusted_proxies may be
 * NULL (nothing trusted). lim NULL = defaults.
 *
 * Client errors → GW_EINVAL with a message naming the header (the gateway answers 400):
 * more than max_properties property headers; an empty property name; a property name longer than
 * max_property_name or with characters outside [a-z0-9_.-] after lower-casing; a property value
 * longer than max_property_value, not valid UTF-8 or with control characters (Unicode Cc,
 * including TAB); a repeated property name; a session id/path/name or prompt id longer than
 * max_session_field (the path measured after normalisation), not valid UTF-8 or with control
 * characters. For session fields and the prompt id the first header wins if repeated.
 *
 * Never fatal: invalid IPs (skipped), invalid countries (""), a bad referer (NULL).
 *
 * Country: cf-ipcountry when that header is present, else x-alephant-country-code. Cloudflare's
 * header is not overridden by the client-supplied fallback even when it says "XX" (unknown).
 * Exactly two ASCII letters, upper-cased, or "T1"; "XX" → "".
 *
 * IPs: x-forwarded-for entries (all such headers in order, each "a, b, c"; lighttpd already joins
 * repeats with ", ") are trimmed of spaces/tabs and parsed with gw_ip_parse (ports and brackets
 * allowed). client_ip is the leftmost valid entry (empty and invalid ones skipped), else the peer.
 * ratelimit_ip is the peer unless the peer is in trusted_proxies; then XFF is walked from the
 * right, passing entries that are themselves trusted proxies, and the first untrusted one is
 * taken ("rightmost untrusted": every entry right of it was appended by a proxy we trust, every
 * entry left of it is whatever the client chose to send). An empty/invalid entry met on that walk
 * stops it (a trusted proxy never writes junk, so the chain is broken there) and the last trusted
 * address is used. All addresses are written in canonical form (IPv4-mapped → IPv4).
 *
 * On error *out is left cleared (gw_tracking_clear is still safe to call). */
GwStatus gw_tracking_parse(GPtrArray *headers, const char *remote_addr,
                           const GwCidrList *trusted_proxies, const GwTrackingLimits *lim,
                           GwTracking *out, GError **err);

/* Frees what t owns and zeroes it. */
void gw_tracking_clear(GwTracking *t);

/* Session path normalisation, exposed for tests: adds a leading '/', collapses repeated '/',
 * removes a trailing '/' (except the root "/"); NULL or "" → NULL. Caller frees. */
char *gw_session_path_normalize(const char *path);

/* Headers usable by policy evaluation: name → value for every header whose name and value are
 * valid UTF-8 (others skipped); gateway secrets are excluded (authorization, proxy-authorization,
 * x-api-key, cookie, alephant-embeddings-key). Repeated names are joined with ", " in arrival
 * order. Returns a new GHashTable (keys and values g_free'd; g_hash_table_unref). headers NULL →
 * an empty table. */
GHashTable *gw_tracking_policy_headers(GPtrArray *headers);

/* Bounds of the request headers kept on a log row (gw_tracking_log_headers). */
#define GW_LOG_HEADERS_MAX 8192          /* bytes of the JSON text */
#define GW_LOG_HEADER_VALUE_MAX 1024     /* bytes of one value (cut at a character boundary) */

/* The client's request headers as a compact JSON object text {"name": "value"} for the log row
 * (request_logs.request_headers), or NULL when alephant-omit-request is present (the request is
 * not to be kept) or headers is NULL. Left out: credentials and secrets (authorization, cookie,
 * x-api-key, api-key, proxy-authorization, alephant-embeddings-key, and any header whose name
 * contains auth, key, token, secret, password, passwd, cookie, credential or signature — e.g.
 * x-goog-api-key, x-auth-token), every header whose value
 * contains the presented credential (the Bearer token or x-api-key value) or anything shaped like
 * a virtual key ("vk-" and 20 or more base64url characters), and headers whose name or value is
 * not valid UTF-8. Repeated names are joined with ", " in arrival order; each value is cut at
 * GW_LOG_HEADER_VALUE_MAX bytes; headers that would take the text past max_bytes are dropped and
 * "alephant-headers-truncated": "true" is added instead (max_bytes 0 = GW_LOG_HEADERS_MAX).
 * Caller frees. */
char *gw_tracking_log_headers(GPtrArray *headers, gsize max_bytes);

#endif
