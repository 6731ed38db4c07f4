/* proxy.h — the upstream call: builds the libcurl request from a GwCall (filtered headers,
 * injected credential, exact body), relays the answer — buffered JSON, or Server-Sent Events
 * event by event as they arrive — and records status, usage and timing on the call. */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include "pipeline.h"

/* Applies the per-thread libcurl defaults once (connection reuse survives curl_easy_reset). */
CURL *gw_proxy_curl_new(void);

/* Forwards call to its current target and answers the client, filling att (status, error code;
 * the caller sets the rest). With may_retry, a failure that is safe to retry elsewhere — connect
 * error, timeout before the first byte, 429 or 5xx — sends nothing and returns GW_FWD_RETRY;
 * otherwise a response has been started (or the client is gone) on return. */
GwForward gw_proxy_forward(GwCall *call, gboolean may_retry, GwAttempt *att);

#endif
