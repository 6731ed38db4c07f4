/* proxy.h — the upstream call: builds the libcurl request from a GwCall (filtered headers,
 * injected credential, exact body), relays the answer — buffered JSON, or Server-Sent Events
 * event by event as they arrive — and records status, usage and timing on the call. */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include "pipeline.h"

/* Applies the per-thread libcurl defaults once (connection reuse survives curl_easy_reset). */
CURL *gw_proxy_curl_new(void);

/* Forwards call upstream and answers the client; never returns without a response having been
 * started (or the client being gone). */
void gw_proxy_forward(GwCall *call);

#endif
