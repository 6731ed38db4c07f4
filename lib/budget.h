/* budget.h — budget arithmetic without I/O or clock: the calendar (UTC) periods a spend limit
 * resets on, and the most a request can cost, which a reservation holds until it settles. */
#ifndef GW_BUDGET_H
#define GW_BUDGET_H

#include <glib.h>
#include "store.h"

typedef enum {
    GW_PERIOD_DAILY,
    GW_PERIOD_WEEKLY,
    GW_PERIOD_MONTHLY,
    GW_PERIOD_LIFETIME,
} GwBudgetPeriod;

/* "daily" | "weekly" | "monthly" | "lifetime" (exact, lower case). */
gboolean gw_budget_period_parse(const char *text, GwBudgetPeriod *out);
const char *gw_budget_period_name(GwBudgetPeriod p);
/* Whether reset_day fits the period: weekly 1 (Monday) … 7 (Sunday); monthly 1 … 28 (every
 * month has it); daily and lifetime ignore it (any value). */
gboolean gw_budget_reset_day_ok(GwBudgetPeriod p, int reset_day);

/* The period containing now_ms as [*start_ms, *end_ms), all UTC:
 *   daily    00:00 → next 00:00
 *   weekly   00:00 of the last reset_day weekday (1 = Monday … 7 = Sunday) → 7 days later
 *   monthly  00:00 on day reset_day of this month, or of last month when today is earlier
 *            → the same day of the next month
 *   lifetime [0, G_MAXINT64)
 * FALSE (outputs untouched) for an unknown period, a reset_day the period does not allow, or a
 * clock outside 1970 … 9999. */
gboolean gw_budget_period(const char *period, int reset_day, gint64 now_ms, gint64 *start_ms,
                          gint64 *end_ms);

/* Upper bound of a request's cost: prompt tokens at the higher of the input and cached-input
 * prices plus max_output tokens at the output price, per million, rounded UP (a reservation must
 * never be below the true maximum). Negative counts count as 0; saturates at G_MAXINT64.
 * -1 when price is NULL (no price: cost unknown). */
gint64 gw_budget_estimate_nanos(const GwPrice *price, gint64 prompt_tokens_estimate,
                                gint64 max_output_tokens);

/* Prompt tokens a request body of body_bytes can hold, at most. One token per byte is an upper
 * bound for the byte-level BPE tokenizers the providers use (every token covers at least one
 * byte of text), and the JSON syntax around the messages more than covers the few tokens of
 * chat-template overhead per message. Not an upper bound for images or audio referenced by
 * URL, which are billed by size, not by their bytes in the body. Pass the body as sent upstream
 * (after any prompt template is applied). */
gint64 gw_budget_estimate_prompt_tokens(gsize body_bytes);

#endif
