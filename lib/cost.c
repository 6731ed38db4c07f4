/* cost.c — request cost in integer nano-dollars. Prices are nano-dollars per million tokens, so
 * cost = Σ tokens × price / 1e6; the products are summed in 128 bits and divided (rounding half
 * up) once, so a request is never off by more than half a nano-dollar and never overflows. */
#include "config.h"
#include "cost.h"

#include <string.h>

#define NANOS_PER_USD G_GINT64_CONSTANT(1000000000)
#define TOKENS_PER_PRICE_UNIT 1000000u /* prices are per million tokens */
#define USD_PARSE_MAX_NANOS (G_GINT64_CONSTANT(1000000) * NANOS_PER_USD)
#define USD_MAX_DECIMALS 9

/* __extension__ keeps -Wpedantic builds quiet; GCC and Clang both have it on 64-bit targets. */
__extension__ typedef unsigned __int128 u128;

static guint64 nonneg(gint64 v)
{
    return v > 0 ? (guint64)v : 0;
}

gint64 gw_cost_nanos(const GwPrice *p, gint64 prompt_tokens, gint64 cached_tokens,
                     gint64 completion_tokens)
{
    if (p == NULL || (prompt_tokens < 0 && completion_tokens < 0))
        return -1;
    guint64 prompt = nonneg(prompt_tokens);
    guint64 cached = nonneg(cached_tokens);
    /* Cached tokens are part of the prompt; a provider reporting more is not trusted beyond it. */
    if (cached > prompt)
        cached = prompt;
    guint64 completion = nonneg(completion_tokens);
    guint64 in_price = nonneg(p->input_per_mtok);
    guint64 cached_price = p->cached_input_per_mtok >= 0 ? (guint64)p->cached_input_per_mtok
                                                         : in_price;
    guint64 out_price = nonneg(p->output_per_mtok);

    /* Each product is < 2^126, so the sum of three fits in 128 bits. */
    u128 num = (u128)(prompt - cached) * in_price + (u128)cached * cached_price +
               (u128)completion * out_price;
    u128 nanos = num / TOKENS_PER_PRICE_UNIT;
    if (num % TOKENS_PER_PRICE_UNIT >= TOKENS_PER_PRICE_UNIT / 2)
        nanos++;
    return nanos > (u128)G_MAXINT64 ? G_MAXINT64 : (gint64)nanos;
}

char *gw_cost_format_usd(gint64 nanos)
{
    /* Via unsigned so G_MININT64 has a magnitude too. */
    guint64 mag = nanos < 0 ? (guint64)0 - (guint64)nanos : (guint64)nanos;
    return g_strdup_printf("%s%" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT, nanos < 0 ? "-" : "",
                           mag / (guint64)NANOS_PER_USD, mag % (guint64)NANOS_PER_USD);
}

gboolean gw_cost_parse_usd(const char *text, gint64 *nanos_out)
{
    if (text == NULL || nanos_out == NULL)
        return FALSE;
    /* Plain digits[.digits] only: no sign, exponent, spaces or locale separators. */
    const char *c = text;
    guint64 whole = 0;
    int int_digits = 0;
    for (; g_ascii_isdigit(*c); c++, int_digits++) {
        whole = whole * 10 + (guint64)(*c - '0');
        if (whole > (guint64)(USD_PARSE_MAX_NANOS / NANOS_PER_USD))
            return FALSE;
    }
    if (int_digits == 0)
        return FALSE;
    guint64 frac = 0;
    int frac_digits = 0;
    if (*c == '.') {
        c++;
        for (; g_ascii_isdigit(*c); c++, frac_digits++) {
            if (frac_digits == USD_MAX_DECIMALS)
                return FALSE;
            frac = frac * 10 + (guint64)(*c - '0');
        }
        if (frac_digits == 0)
            return FALSE;
    }
    if (*c != '\0')
        return FALSE;
    for (int i = frac_digits; i < USD_MAX_DECIMALS; i++)
        frac *= 10;
    guint64 total = whole * (guint64)NANOS_PER_USD + frac;
    if (total > (guint64)USD_PARSE_MAX_NANOS)
        return FALSE;
    *nanos_out = (gint64)total;
    return TRUE;
}
