/* test_cost.c — exact nano-dollar cost arithmetic, rounding, saturation, and USD text. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "cost.h"

/* USD per million tokens → nano-dollars per million tokens, for readable test tables. */
#define USD(x) ((gint64)((x) * 1000000000.0 + 0.5))

static GwPrice price(gint64 input, gint64 output, gint64 cached)
{
    GwPrice p = {
        .provider = (char *)"openai",
        .model = (char *)"m",
        .input_per_mtok = input,
        .output_per_mtok = output,
        .cached_input_per_mtok = cached,
    };
    return p;
}

static void test_gpt4o_mini(void)
{
    /* gpt-4o-mini: 0.15 in, 0.60 out, 0.075 cached */
    GwPrice p = price(150000000, 600000000, 75000000);
    /* 1000 × 0.15/M = 150000 nanos, 500 × 0.60/M = 300000 nanos: 0.00045 USD */
    g_assert_cmpint(gw_cost_nanos(&p, 1000, -1, 500), ==, 450000);
    g_assert_cmpint(gw_cost_nanos(&p, 1000, 0, 500), ==, 450000);
    char *usd = gw_cost_format_usd(450000);
    g_assert_cmpstr(usd, ==, "0.000450000");
    g_free(usd);
    /* 400 of the 1000 prompt tokens cached: 600 × 0.15 + 400 × 0.075 = 90000 + 30000 */
    g_assert_cmpint(gw_cost_nanos(&p, 1000, 400, 500), ==, 120000 + 300000);
    /* only prompt, only completion */
    g_assert_cmpint(gw_cost_nanos(&p, 1000, -1, -1), ==, 150000);
    g_assert_cmpint(gw_cost_nanos(&p, -1, -1, 500), ==, 300000);
}

static void test_cached(void)
{
    /* no cached price (-1): cached tokens cost the input price */
    GwPrice p = price(USD(2.5), USD(10), -1);
    g_assert_cmpint(gw_cost_nanos(&p, 1000, 800, 0), ==, gw_cost_nanos(&p, 1000, 0, 0));
    g_assert_cmpint(gw_cost_nanos(&p, 1000, 800, 0), ==, 2500000);
    /* with a cached price */
    p.cached_input_per_mtok = USD(1.25);
    g_assert_cmpint(gw_cost_nanos(&p, 1000, 800, 0), ==, 200 * 2500 + 800 * 1250);
    /* a free cache is free, not "same as input" */
    p.cached_input_per_mtok = 0;
    g_assert_cmpint(gw_cost_nanos(&p, 1000, 1000, 0), ==, 0);
    /* more cached than prompt tokens (bad report): capped at the prompt */
    p.cached_input_per_mtok = USD(1.25);
    g_assert_cmpint(gw_cost_nanos(&p, 100, 5000, 0), ==, 100 * 1250);
    /* cached tokens without prompt tokens count for nothing */
    g_assert_cmpint(gw_cost_nanos(&p, -1, 5000, 10), ==, 10 * 10000);
}

static void test_small_and_rounding(void)
{
    /* text-embedding-3-small: 7 tokens at 0.02 USD/M = 140 nanos */
    GwPrice p = price(20000000, 0, -1);
    g_assert_cmpint(gw_cost_nanos(&p, 7, -1, -1), ==, 140);
    /* 1 token at 0.15/M = 150 nanos exactly */
    p = price(150000000, 0, -1);
    g_assert_cmpint(gw_cost_nanos(&p, 1, -1, 0), ==, 150);
    /* 1 token at 0.0000005 USD/M = 0.0005 nanos → 0 */
    p = price(500, 0, -1);
    g_assert_cmpint(gw_cost_nanos(&p, 1, -1, 0), ==, 0);
    /* half rounds up, just below half rounds down: price 1 nano/M is 1e-6 nanos a token */
    p = price(1, 0, -1);
    g_assert_cmpint(gw_cost_nanos(&p, 500000, -1, 0), ==, 1);
    g_assert_cmpint(gw_cost_nanos(&p, 499999, -1, 0), ==, 0);
    g_assert_cmpint(gw_cost_nanos(&p, 1500000, -1, 0), ==, 2);
    /* rounding happens once, on the sum: two halves make one */
    p = price(1, 1, -1);
    g_assert_cmpint(gw_cost_nanos(&p, 250000, -1, 250000), ==, 1);
    /* zero tokens reported is a zero cost, not unknown */
    p = price(USD(3), USD(15), -1);
    g_assert_cmpint(gw_cost_nanos(&p, 0, 0, 0), ==, 0);
    g_assert_cmpint(gw_cost_nanos(&p, 0, -1, -1), ==, 0);
}

static void test_unknown(void)
{
    GwPrice p = price(USD(3), USD(15), -1);
    g_assert_cmpint(gw_cost_nanos(&p, -1, -1, -1), ==, -1);
    g_assert_cmpint(gw_cost_nanos(&p, -1, 100, -1), ==, -1);
    g_assert_cmpint(gw_cost_nanos(NULL, 100, 0, 100), ==, -1);
}

static void test_saturate(void)
{
    const gint64 max_price = G_GINT64_CONSTANT(1000000000000000); /* 1e6 USD per million */
    GwPrice p = price(max_price, max_price, max_price);
    /* 2^31 tokens at 1e15: 2^31 × 1e9 nanos, well below saturation, exact */
    g_assert_cmpint(gw_cost_nanos(&p, G_GINT64_CONSTANT(2147483648), -1, 0), ==,
                    G_GINT64_CONSTANT(2147483648) * 1000000000);
    g_assert_cmpint(gw_cost_nanos(&p, G_GINT64_CONSTANT(2147483648), 0,
                                  G_GINT64_CONSTANT(2147483648)),
                    ==, G_GINT64_CONSTANT(4294967296) * 1000000000);
    /* absurd values saturate instead of wrapping */
    g_assert_cmpint(gw_cost_nanos(&p, G_MAXINT64, -1, G_MAXINT64), ==, G_MAXINT64);
    p = price(G_MAXINT64, G_MAXINT64, G_MAXINT64);
    g_assert_cmpint(gw_cost_nanos(&p, G_MAXINT64, G_MAXINT64 / 2, G_MAXINT64), ==, G_MAXINT64);
    g_assert_cmpint(gw_cost_nanos(&p, 1, -1, 0), ==,
                    G_MAXINT64 / 1000000 + 1); /* ...807 rounds up */
    /* negative prices (never stored) count as 0 */
    p = price(-5, -5, -1);
    g_assert_cmpint(gw_cost_nanos(&p, 1000000, -1, 1000000), ==, 0);
}

static void test_sum_exact(void)
{
    /* a million requests of 123 prompt + 45 completion tokens at gpt-4o-mini prices: integer
     * nanos add up exactly to the product (a double sum would drift) */
    GwPrice p = price(150000000, 600000000, 75000000);
    gint64 one = gw_cost_nanos(&p, 123, -1, 45);
    g_assert_cmpint(one, ==, 18450 + 27000);
    gint64 sum = 0;
    for (int i = 0; i < 1000000; i++)
        sum += gw_cost_nanos(&p, 123, -1, 45);
    g_assert_cmpint(sum, ==, one * 1000000);
    char *usd = gw_cost_format_usd(sum);
    g_assert_cmpstr(usd, ==, "45.450000000");
    g_free(usd);
}

static void test_format(void)
{
    static const struct {
        gint64 nanos;
        const char *text;
    } cases[] = {
        {0, "0.000000000"},
        {1, "0.000000001"},
        {150000000, "0.150000000"},
        {1000000000, "1.000000000"},
        {G_GINT64_CONSTANT(12345678901234), "12345.678901234"},
        {G_MAXINT64, "9223372036.854775807"},
        {-1, "-0.000000001"},
        {G_MININT64, "-9223372036.854775808"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *s = gw_cost_format_usd(cases[i].nanos);
        g_assert_cmpstr(s, ==, cases[i].text);
        g_free(s);
    }
}

static void test_parse(void)
{
    static const struct {
        const char *text;
        gint64 nanos;
    } good[] = {
        {"0.15", 150000000},
        {"2.5", 2500000000},
        {"10", 10000000000},
        {"0", 0},
        {"0.0", 0},
        {"0.000000001", 1},
        {"0.075", 75000000},
        {"007.5", 7500000000},
        {"1000000", G_GINT64_CONSTANT(1000000000000000)},
        {"1000000.000000000", G_GINT64_CONSTANT(1000000000000000)},
        {"999999.999999999", G_GINT64_CONSTANT(999999999999999)},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        gint64 n = -1;
        if (!gw_cost_parse_usd(good[i].text, &n))
            g_error("refused \"%s\"", good[i].text);
        g_assert_cmpint(n, ==, good[i].nanos);
        /* round trip through the formatter */
        char *s = gw_cost_format_usd(n);
        gint64 back = -1;
        g_assert_true(gw_cost_parse_usd(s, &back));
        g_assert_cmpint(back, ==, n);
        g_free(s);
    }
    static const char *const bad[] = {
        "",         "abc",     "1e3",        "-1",        "+1",     "0.0000000001",
        ".5",       "5.",      " 1",         "1 ",        "1,5",    "1000000.000000001",
        "1000001",  "0x10",    "1.2.3",      "NaN",       "inf",    "99999999999999999999999",
        "1\n",      "١",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        gint64 n = 42;
        if (gw_cost_parse_usd(bad[i], &n))
            g_error("accepted \"%s\"", bad[i]);
        g_assert_cmpint(n, ==, 42); /* untouched on refusal */
    }
    gint64 n = 0;
    g_assert_false(gw_cost_parse_usd(NULL, &n));
    g_assert_false(gw_cost_parse_usd("1", NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cost/gpt-4o-mini", test_gpt4o_mini);
    g_test_add_func("/cost/cached", test_cached);
    g_test_add_func("/cost/small-and-rounding", test_small_and_rounding);
    g_test_add_func("/cost/unknown", test_unknown);
    g_test_add_func("/cost/saturate", test_saturate);
    g_test_add_func("/cost/sum-exact", test_sum_exact);
    g_test_add_func("/cost/format", test_format);
    g_test_add_func("/cost/parse", test_parse);
    return g_test_run();
}
