/* enforce.h — what a virtual key's operators set for it, applied to each request before it is
 * forwarded: policies, rate limits (shared by every worker process) and budget reservations,
 * and after it: token charges and budget settlement. */
#ifndef GW_ENFORCE_H
#define GW_ENFORCE_H

#include "pipeline.h"

/* Each returns TRUE to go on, FALSE after an error response was sent. Order: policies, rate
 * limits, budget (a refused request costs no budget and no reservation). */
gboolean gw_enforce_policies(GwCall *call);
gboolean gw_enforce_rate_limits(GwCall *call);
gboolean gw_enforce_budget(GwCall *call);

/* After the response: charges the actual tokens to token rate limits and settles the budget
 * reservation with the request's cost. Never fails the request (errors are logged). */
void gw_enforce_finish(GwCall *call);

/* Frees the per-call enforcement state. */
void gw_enforce_clear(GwCall *call);

#endif
