/* cost.h — request cost in integer nano-dollars (USD × 1e9) from token usage and a price row:
 * exact fixed-point arithmetic, so sums over millions of requests never drift. */
#ifndef GW_COST_H
#define GW_COST_H

#include <glib.h>
#include "store.h"

/* Cost of a request at price p. prompt_tokens includes cached_tokens (as OpenAI reports it and as
 * the gateway normalises Anthropic usage); cached tokens are billed at the cached-input price (the
 * input price when the row has none). Negative counts mean "not reported" and count as 0.
 * Rounded to the nearest nano-dollar; saturates instead of overflowing. Returns -1 when neither
 * prompt nor completion tokens were reported (cost unknown, not zero). */
gint64 gw_cost_nanos(const GwPrice *p, gint64 prompt_tokens, gint64 cached_tokens,
                     gint64 completion_tokens);

/* "0.000123450" style decimal USD text of a nano-dollar amount (caller frees). */
char *gw_cost_format_usd(gint64 nanos);

/* Parses a decimal USD amount per million tokens ("0.15", "2.5", "10") into nano-dollars.
 * At most 9 decimals, non-negative, ≤ 1e6 USD. */
gboolean gw_cost_parse_usd(const char *text, gint64 *nanos_out);

#endif
