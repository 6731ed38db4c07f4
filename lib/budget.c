/* budget.c — budget periods and cost upper bounds. Dates use integer civil-calendar arithmetic
 * (proleptic Gregorian, UTC), so no time zone database or libc state is involved. */
#include "config.h"
#include "budget.h"

#include <string.h>

#define MS_PER_DAY G_GINT64_CONSTANT(86400000)
#define TOKENS_PER_PRICE_UNIT 1000000u /* prices are per million tokens */
/* 10000-01-01T00:00:00Z: beyond it a monthly period end would need a five-digit year. */
#define CLOCK_MAX_MS G_GINT64_CONSTANT(253402300800000)

__extension__ typedef unsigned __int128 u128;

static const char *const period_names[] = {
    [GW_PERIOD_DAILY] = "daily",
    [GW_PERIOD_WEEKLY] = "weekly",
    [GW_PERIOD_MONTHLY] = "monthly",
    [GW_PERIOD_LIFETIME] = "lifetime",
};

gboolean gw_budget_period_parse(const char *text, GwBudgetPeriod *out)
{
    if (text == NULL)
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(period_names); i++) {
        if (strcmp(text, period_names[i]) == 0) {
            if (out != NULL)
                *out = (GwBudgetPeriod)i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *gw_budget_period_name(GwBudgetPeriod p)
{
    return (gsize)p < G_N_ELEMENTS(period_names) ? period_names[p] : "?";
}

gboolean gw_budget_reset_day_ok(GwBudgetPeriod p, int reset_day)
{
    switch (p) {
    case GW_PERIOD_WEEKLY:
        return reset_day >= 1 && reset_day <= 7;
    case GW_PERIOD_MONTHLY:
        return reset_day >= 1 && reset_day <= 28;
    case GW_PERIOD_DAILY:
    case GW_PERIOD_LIFETIME:
        return TRUE;
    }
    return FALSE;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static gint64 days_from_civil(gint64 y, int m, int d)
{
    y -= m <= 2;
    gint64 era = (y >= 0 ? y : y - 399) / 400;
    gint64 yoe = y - era * 400;
    gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(gint64 z, gint64 *y_out, int *m_out, int *d_out)
{
    z += 719468;
    gint64 era = (z >= 0 ? z : z - 146096) / 146097;
    gint64 doe = z - era * 146097;
    gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    gint64 mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y_out = yoe + era * 400 + (m <= 2);
    *m_out = m;
    *d_out = d;
}

gboolean gw_budget_period(const char *period, int reset_day, gint64 now_ms, gint64 *start_ms,
                          gint64 *end_ms)
{
    GwBudgetPeriod p;
    if (!gw_budget_period_parse(period, &p) || !gw_budget_reset_day_ok(p, reset_day) ||
        now_ms < 0 || now_ms >= CLOCK_MAX_MS)
        return FALSE;
    gint64 day = now_ms / MS_PER_DAY; /* now_ms ≥ 0: truncation is floor */
    gint64 start_day, end_day;
    switch (p) {
    case GW_PERIOD_DAILY:
        start_day = day;
        end_day = day + 1;
        break;
    case GW_PERIOD_WEEKLY: {
        int weekday = (int)((day + 3) % 7) + 1; /* 1970-01-01 was a Thursday (4) */
        start_day = day - (weekday - reset_day + 7) % 7;
        end_day = start_day + 7;
        break;
    }
    case GW_PERIOD_MONTHLY: {
        gint64 y;
        int m, d;
        civil_from_days(day, &y, &m, &d);
        if (d < reset_day && --m == 0) {
            m = 12;
            y--;
        }
        start_day = days_from_civil(y, m, reset_day);
        if (++m == 13) {
            m = 1;
            y++;
        }
        end_day = days_from_civil(y, m, reset_day);
        break;
    }
    case GW_PERIOD_LIFETIME:
    default:
        *start_ms = 0;
        *end_ms = G_MAXINT64;
        return TRUE;
    }
    *start_ms = start_day * MS_PER_DAY;
    *end_ms = end_day * MS_PER_DAY;
    return TRUE;
}

static guint64 nonneg(gint64 v)
{
    return v > 0 ? (guint64)v : 0;
}

gint64 gw_budget_estimate_nanos(const GwPrice *price, gint64 prompt_tokens_estimate,
                                gint64 max_output_tokens)
{
    if (price == NULL)
        return -1;
    /* A cached-input price above the input price would make cache hits the costlier case. */
    guint64 in_price = MAX(nonneg(price->input_per_mtok), nonneg(price->cached_input_per_mtok));
    u128 num = (u128)nonneg(prompt_tokens_estimate) * in_price +
               (u128)nonneg(max_output_tokens) * nonneg(price->output_per_mtok);
    u128 nanos = (num + TOKENS_PER_PRICE_UNIT - 1) / TOKENS_PER_PRICE_UNIT;
    return nanos > (u128)G_MAXINT64 ? G_MAXINT64 : (gint64)nanos;
}

gint64 gw_budget_estimate_prompt_tokens(gsize body_bytes)
{
    return body_bytes > (gsize)G_MAXINT64 ? G_MAXINT64 : (gint64)body_bytes;
}
