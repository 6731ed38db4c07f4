/* cache.h — the response cache in the request path: the lookup stage (after policies and rate
 * limits, before budget reservation and forwarding; a hit answers from the cache and skips both),
 * the capture of what the upstream answered and its save after a complete 2xx answer, the
 * alephant-cache* response headers, and the log row's cache columns. Owns GwCallCache. */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include "pipeline.h"

/* Looks the request up when its headers turn the cache on: TRUE to go on (a miss, or the cache is
 * off), FALSE when the response has been sent (a hit, or a 400 for an invalid cache header).
 * A storage or embedding failure is a miss, never an error. */
gboolean gw_cache_lookup(GwCall *call);

/* Appends bytes the client was sent to the copy that will be saved (no-op unless saving). */
void gw_cache_capture(GwCall *call, const char *data, size_t len);
/* Records the content type of the answer being sent (no-op unless saving). */
void gw_cache_capture_content_type(GwCall *call, const char *content_type);

/* Appends the cache response headers (name, value pairs) to h at *n, at most room entries. */
void gw_cache_response_headers(GwCall *call, const char **h, guint *n, guint room);

/* TRUE when the request was answered from the cache. */
gboolean gw_cache_is_hit(const GwCall *call);

/* After the log row is complete: saves a complete 2xx answer when the request asked for it, and
 * fills the row's cache columns. Never fails the request. */
void gw_cache_finish(GwCall *call);

/* Frees the per-call cache state. */
void gw_cache_clear(GwCall *call);

/* Closes a worker thread's cache database (if it opened one). */
void gw_cache_worker_close(GwWorker *w);

#endif
