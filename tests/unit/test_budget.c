/* test_budget.c — budget periods and estimates (pure), and budget reservations, settlement and
 * rate-limit rules in the store, on a fresh database in a temporary directory per test. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <sqlite3.h>

#include "budget.h"
#include "store.h"

#define USD G_GINT64_CONSTANT(1000000000)
#define HOUR_MS G_GINT64_CONSTANT(3600000)
#define DAY_MS (24 * HOUR_MS)
#define TTL_MS (10 * 60 * 1000)

/* Unix ms of a UTC time, by GLib's calendar (an independent oracle for budget.c). */
static gint64 utc(int y, int mo, int d, int h, int mi, int s)
{
    GDateTime *dt = g_date_time_new_utc(y, mo, d, h, mi, s);
    g_assert_nonnull(dt);
    gint64 ms = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return ms;
}

static void assert_period(const char *period, int reset_day, gint64 now, gint64 want_start,
                          gint64 want_end)
{
    gint64 start = -7, end = -7;
    g_assert_true(gw_budget_period(period, reset_day, now, &start, &end));
    g_assert_cmpint(start, ==, want_start);
    g_assert_cmpint(end, ==, want_end);
    g_assert_cmpint(start, <=, now);
    g_assert_cmpint(now, <, end);
}

/* ---- pure: periods ---- */

static void test_period_daily(void)
{
    gint64 day = utc(2025, 3, 15, 0, 0, 0), next = utc(2025, 3, 16, 0, 0, 0);
    assert_period("daily", 1, day, day, next);
    assert_period("daily", 1, utc(2025, 3, 15, 13, 45, 7) + 123, day, next);
    assert_period("daily", 1, next - 1, day, next);
    assert_period("daily", 1, next, next, utc(2025, 3, 17, 0, 0, 0));
    /* Year boundary; the reset day means nothing for daily budgets. */
    assert_period("daily", 5, utc(2024, 12, 31, 23, 59, 59), utc(2024, 12, 31, 0, 0, 0),
                  utc(2025, 1, 1, 0, 0, 0));
    assert_period("daily", 1, 0, 0, DAY_MS);
}

static void test_period_weekly(void)
{
    /* 2025-03-17 is a Monday, 2025-03-16 a Sunday. */
    gint64 mon = utc(2025, 3, 17, 0, 0, 0);
    assert_period("weekly", 1, mon, mon, utc(2025, 3, 24, 0, 0, 0));
    assert_period("weekly", 1, utc(2025, 3, 23, 23, 59, 59), mon, utc(2025, 3, 24, 0, 0, 0));
    assert_period("weekly", 1, mon - 1, utc(2025, 3, 10, 0, 0, 0), mon);
    /* Weeks starting on Sunday: the Sunday itself starts one, Saturday ends it. */
    assert_period("weekly", 7, utc(2025, 3, 16, 0, 0, 0), utc(2025, 3, 16, 0, 0, 0),
                  utc(2025, 3, 23, 0, 0, 0));
    assert_period("weekly", 7, utc(2025, 3, 17, 9, 0, 0), utc(2025, 3, 16, 0, 0, 0),
                  utc(2025, 3, 23, 0, 0, 0));
    assert_period("weekly", 7, utc(2025, 3, 15, 23, 0, 0), utc(2025, 3, 9, 0, 0, 0),
                  utc(2025, 3, 16, 0, 0, 0));
    /* Wednesday start across a year boundary (2025-01-01 is a Wednesday). */
    assert_period("weekly", 3, utc(2024, 12, 31, 12, 0, 0), utc(2024, 12, 25, 0, 0, 0),
                  utc(2025, 1, 1, 0, 0, 0));
    assert_period("weekly", 3, utc(2025, 1, 1, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0),
                  utc(2025, 1, 8, 0, 0, 0));
    /* 1970-01-01 was a Thursday: the first week starting Monday began in 1969. */
    assert_period("weekly", 1, 0, utc(1969, 12, 29, 0, 0, 0), utc(1970, 1, 5, 0, 0, 0));
    /* Every weekday and reset day against GLib's calendar. */
    for (int d = 0; d < 14; d++) {
        gint64 now = utc(2025, 3, 10 + d, 6, 0, 0);
        GDateTime *dt = g_date_time_new_from_unix_utc(now / 1000);
        int wd = g_date_time_get_day_of_week(dt); /* 1 = Monday */
        g_date_time_unref(dt);
        for (int r = 1; r <= 7; r++) {
            gint64 start = 0, end = 0;
            g_assert_true(gw_budget_period("weekly", r, now, &start, &end));
            gint64 today = now - now % DAY_MS;
            g_assert_cmpint(start, ==, today - ((wd - r + 7) % 7) * DAY_MS);
            g_assert_cmpint(end, ==, start + 7 * DAY_MS);
        }
    }
}

static void test_period_monthly(void)
{
    assert_period("monthly", 1, utc(2025, 3, 15, 12, 0, 0), utc(2025, 3, 1, 0, 0, 0),
                  utc(2025, 4, 1, 0, 0, 0));
    assert_period("monthly", 1, utc(2025, 3, 1, 0, 0, 0), utc(2025, 3, 1, 0, 0, 0),
                  utc(2025, 4, 1, 0, 0, 0));
    /* December rolls into the next year. */
    assert_period("monthly", 1, utc(2024, 12, 31, 23, 59, 59), utc(2024, 12, 1, 0, 0, 0),
                  utc(2025, 1, 1, 0, 0, 0));
    /* Before the reset day: the period began last month (and last year in January). */
    assert_period("monthly", 15, utc(2025, 1, 10, 0, 0, 0), utc(2024, 12, 15, 0, 0, 0),
                  utc(2025, 1, 15, 0, 0, 0));
    assert_period("monthly", 15, utc(2025, 1, 15, 0, 0, 0), utc(2025, 1, 15, 0, 0, 0),
                  utc(2025, 2, 15, 0, 0, 0));
    assert_period("monthly", 15, utc(2025, 1, 14, 23, 59, 59), utc(2024, 12, 15, 0, 0, 0),
                  utc(2025, 1, 15, 0, 0, 0));
    assert_period("monthly", 15, utc(2024, 12, 20, 0, 0, 0), utc(2024, 12, 15, 0, 0, 0),
                  utc(2025, 1, 15, 0, 0, 0));
    /* Leap years: February 29 exists in 2024 (and 2000), not in 2025 (nor 1900, 2100). */
    assert_period("monthly", 1, utc(2024, 2, 29, 12, 0, 0), utc(2024, 2, 1, 0, 0, 0),
                  utc(2024, 3, 1, 0, 0, 0));
    assert_period("monthly", 28, utc(2024, 2, 29, 12, 0, 0), utc(2024, 2, 28, 0, 0, 0),
                  utc(2024, 3, 28, 0, 0, 0));
    assert_period("monthly", 28, utc(2024, 3, 1, 0, 0, 0), utc(2024, 2, 28, 0, 0, 0),
                  utc(2024, 3, 28, 0, 0, 0));
    assert_period("monthly", 28, utc(2025, 3, 1, 0, 0, 0), utc(2025, 2, 28, 0, 0, 0),
                  utc(2025, 3, 28, 0, 0, 0));
    assert_period("monthly", 1, utc(2000, 2, 29, 0, 0, 0), utc(2000, 2, 1, 0, 0, 0),
                  utc(2000, 3, 1, 0, 0, 0));
    assert_period("monthly", 1, utc(2100, 3, 1, 0, 0, 0) - 1, utc(2100, 2, 1, 0, 0, 0),
                  utc(2100, 3, 1, 0, 0, 0));
    g_assert_cmpint(utc(2100, 3, 1, 0, 0, 0) - utc(2100, 2, 1, 0, 0, 0), ==, 28 * DAY_MS);
    assert_period("monthly", 1, utc(9999, 12, 31, 23, 59, 59), utc(9999, 12, 1, 0, 0, 0),
                  utc(9999, 12, 1, 0, 0, 0) + 31 * DAY_MS);
}

static void test_period_lifetime_and_invalid(void)
{
    gint64 start = 1, end = 1;
    g_assert_true(gw_budget_period("lifetime", 1, utc(2025, 3, 15, 0, 0, 0), &start, &end));
    g_assert_cmpint(start, ==, 0);
    g_assert_cmpint(end, ==, G_MAXINT64);

    const struct {
        const char *period;
        int day;
        gint64 now;
    } bad[] = {
        {"yearly", 1, 0},  {"Daily", 1, 0},    {"", 1, 0},         {NULL, 1, 0},
        {"weekly", 0, 0},  {"weekly", 8, 0},   {"monthly", 0, 0},  {"monthly", 29, 0},
        {"monthly", 31, 0}, {"daily", 1, -1},  {"daily", 1, G_MAXINT64},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        start = end = 42;
        g_assert_false(gw_budget_period(bad[i].period, bad[i].day, bad[i].now, &start, &end));
        g_assert_cmpint(start, ==, 42);
        g_assert_cmpint(end, ==, 42);
    }

    GwBudgetPeriod p;
    const char *names[] = {"daily", "weekly", "monthly", "lifetime"};
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_true(gw_budget_period_parse(names[i], &p));
        g_assert_cmpstr(gw_budget_period_name(p), ==, names[i]);
    }
    g_assert_false(gw_budget_period_parse("monthly ", &p));
    g_assert_false(gw_budget_period_parse(NULL, &p));
}

/* ---- pure: estimates ---- */

static void test_estimate(void)
{
    GwPrice p = {.input_per_mtok = 150000000, .output_per_mtok = 600000000,
                 .cached_input_per_mtok = 75000000};
    /* Exact: 1000 × 0.15/M + 100 × 0.6/M = 150000 + 60000 nanos. */
    g_assert_cmpint(gw_budget_estimate_nanos(&p, 1000, 100), ==, 210000);
    /* 1 token at 0.15 USD/M = 150 nanos; 7 tokens of a 1-nano/M price round up to 1. */
    g_assert_cmpint(gw_budget_estimate_nanos(&p, 1, 0), ==, 150);
    GwPrice tiny = {.input_per_mtok = 1, .output_per_mtok = 3, .cached_input_per_mtok = -1};
    g_assert_cmpint(gw_budget_estimate_nanos(&tiny, 7, 0), ==, 1);
    g_assert_cmpint(gw_budget_estimate_nanos(&tiny, 1000000, 1), ==, 2);
    g_assert_cmpint(gw_budget_estimate_nanos(&tiny, 999999, 333334), ==, 3);
    g_assert_cmpint(gw_budget_estimate_nanos(&tiny, 0, 0), ==, 0);
    g_assert_cmpint(gw_budget_estimate_nanos(&tiny, -5, -5), ==, 0);
    /* A cached price above the input price is the maximum. */
    GwPrice odd = {.input_per_mtok = 1000000, .output_per_mtok = 0,
                   .cached_input_per_mtok = 2000000};
    g_assert_cmpint(gw_budget_estimate_nanos(&odd, 10, 0), ==, 20);
    /* Saturates. */
    GwPrice big = {.input_per_mtok = G_MAXINT64, .output_per_mtok = G_MAXINT64,
                   .cached_input_per_mtok = -1};
    g_assert_cmpint(gw_budget_estimate_nanos(&big, G_MAXINT64, G_MAXINT64), ==, G_MAXINT64);
    g_assert_cmpint(gw_budget_estimate_nanos(NULL, 1, 1), ==, -1);

    g_assert_cmpint(gw_budget_estimate_prompt_tokens(0), ==, 0);
    g_assert_cmpint(gw_budget_estimate_prompt_tokens(12345), ==, 12345);
    g_assert_cmpint(gw_budget_estimate_prompt_tokens(G_MAXSIZE), ==, G_MAXINT64);
}

/* ---- store fixture ---- */

typedef struct {
    char *dir;
    char *path;
    GwStore *st;
    sqlite3 *raw;     /* a plain read connection, to look at the tables directly */
    gint64 vk, agent, dept;        /* key "app" with agent "bot" in department "eng" */
    gint64 vk2;                    /* key "other", same agent and department */
} Fixture;

static gint64 now0(void)
{
    return utc(2025, 3, 15, 12, 0, 0);
}

static void fixture_setup(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("alephant-budget-XXXXXX", &err);
    g_assert_no_error(err);
    f->path = g_build_filename(f->dir, "alephant.db", NULL);
    g_assert_cmpint(gw_store_open(f->path, &f->st, &err), ==, GW_OK);
    g_assert_cmpint(gw_store_migrate(f->st, &err), ==, GW_OK);
    g_assert_no_error(err);

    GBytes *secret = g_bytes_new_static("enc", 3);
    g_assert_cmpint(gw_store_provider_key_add(f->st, "main", "openai", NULL, NULL, secret, "x",
                                              NULL, &err),
                    ==, GW_OK);
    g_bytes_unref(secret);
    const char *names[] = {"app", "other"};
    const char *hashes[] = {"h1", "h2"};
    for (gsize i = 0; i < 2; i++) {
        GwVkCreate p = {.name = names[i], .token_hash = hashes[i], .token_prefix = "vk-x",
                        .provider_key = "main", .department = "eng", .agent = "bot"};
        g_assert_cmpint(gw_store_vk_create(f->st, &p, NULL, &err), ==, GW_OK);
        GwVirtualKey *vk = NULL;
        g_assert_cmpint(gw_store_vk_find_by_hash(f->st, hashes[i], &vk, &err), ==, GW_OK);
        g_assert_no_error(err);
        *(i == 0 ? &f->vk : &f->vk2) = vk->id;
        f->agent = vk->agent_id;
        f->dept = vk->department_id;
        gw_virtual_key_free(vk);
    }
    g_assert_cmpint(f->agent, >, 0);
    g_assert_cmpint(f->dept, >, 0);
    g_assert_cmpint(sqlite3_open_v2(f->path, &f->raw, SQLITE_OPEN_READONLY, NULL), ==,
                    SQLITE_OK);
    sqlite3_busy_timeout(f->raw, 5000);
}

static void fixture_teardown(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    sqlite3_close(f->raw);
    gw_store_close(f->st);
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *p = g_strconcat(f->path, suffixes[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_assert_cmpint(g_rmdir(f->dir), ==, 0);
    g_free(f->path);
    g_free(f->dir);
}

/* One integer from a constant test query (no user data involved). */
static gint64 raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &s, NULL), ==, SQLITE_OK);
    int rc = sqlite3_step(s);
    g_assert_true(rc == SQLITE_ROW);
    gint64 v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void set_budget(Fixture *f, const char *scope, const char *name, const char *period,
                       int reset_day, gint64 hard, gint64 soft)
{
    GError *err = NULL;
    g_assert_cmpint(gw_store_budget_set(f->st, scope, name, period, reset_day, hard, soft, &err),
                    ==, GW_OK);
    g_assert_no_error(err);
}

static GwStatus reserve_at(Fixture *f, gint64 vk, const char *rid, gint64 amount, gint64 now,
                           GwBudgetBlock *blocked)
{
    GError *err = NULL;
    GwStatus gs = gw_store_budget_reserve(f->st, vk, f->agent, f->dept, rid, amount, now, TTL_MS,
                                          blocked, &err);
    if (gs == GW_ETOOBIG)
        g_assert_nonnull(strstr(err->message, "budget exceeded"));
    else
        g_assert_no_error(err);
    g_clear_error(&err);
    return gs;
}

static void settle(Fixture *f, const char *rid, gint64 actual, gint64 now)
{
    GError *err = NULL;
    g_assert_cmpint(gw_store_budget_settle(f->st, rid, actual, now, &err), ==, GW_OK);
    g_assert_no_error(err);
}

/* The listed budget of a scope, as of now (a new reference). */
static json_t *listed(Fixture *f, const char *scope, gint64 now)
{
    GError *err = NULL;
    json_t *arr = NULL;
    g_assert_cmpint(gw_store_budget_list_json_at(f->st, now, &arr, &err), ==, GW_OK);
    g_assert_no_error(err);
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        if (strcmp(json_string_value(json_object_get(o, "scope")), scope) == 0) {
            json_incref(o);
            json_decref(arr);
            return o;
        }
    }
    g_assert_not_reached();
}

static gint64 jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    g_assert_nonnull(v);
    return json_is_null(v) ? -1 : json_integer_value(v);
}

/* ---- store: budgets ---- */

static void test_budget_set_validation(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    g_assert_cmpint(gw_store_budget_set(f->st, "virtual_key", "nope", "monthly", 1, USD, -1, &err),
                    ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "team", "app", "monthly", 1, USD, -1, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "agent", "bot", "yearly", 1, USD, -1, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "agent", "bot", "monthly", 29, USD, -1, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "agent", "bot", "weekly", 8, USD, -1, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "agent", "bot", "daily", 1, -1, -1, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "agent", "bot", "daily", 1, USD, 2 * USD, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_set(f->st, "agent", "bot", "daily", 1, -2, -1, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budgets"), ==, 0);

    /* Upsert keeps one row per scope; daily ignores the reset day. */
    set_budget(f, "agent", "bot", "daily", 9, USD, -1);
    set_budget(f, "agent", "bot", "weekly", 7, 2 * USD, USD);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budgets"), ==, 1);
    json_t *o = listed(f, "agent", now0());
    g_assert_cmpstr(json_string_value(json_object_get(o, "name")), ==, "bot");
    g_assert_cmpstr(json_string_value(json_object_get(o, "period")), ==, "weekly");
    g_assert_cmpint(jint(o, "reset_day"), ==, 7);
    g_assert_cmpint(jint(o, "hard_limit_nanos"), ==, 2 * USD);
    g_assert_cmpint(jint(o, "soft_limit_nanos"), ==, USD);
    g_assert_cmpstr(json_string_value(json_object_get(o, "hard_limit_usd")), ==, "2.000000000");
    /* 2025-03-15 is a Saturday: the Sunday week began on the 9th. */
    g_assert_cmpint(jint(o, "period_start"), ==, utc(2025, 3, 9, 0, 0, 0));
    g_assert_cmpint(jint(o, "period_end"), ==, utc(2025, 3, 16, 0, 0, 0));
    json_decref(o);

    g_assert_cmpint(gw_store_budget_clear(f->st, "agent", "bot", &err), ==, GW_OK);
    g_assert_cmpint(gw_store_budget_clear(f->st, "agent", "bot", &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_budget_clear(f->st, "agent", "ghost", &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budgets"), ==, 0);
}

static void test_reserve_no_budget(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 5 * USD, now0(), NULL), ==, GW_OK);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, 0);
    settle(f, "r1", USD, now0());
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_spend"), ==, 0);
    /* A budget of another key does not apply. */
    set_budget(f, "virtual_key", "other", "monthly", 1, 1, -1);
    g_assert_cmpint(reserve_at(f, f->vk, "r2", 5 * USD, now0(), NULL), ==, GW_OK);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, 0);
}

static void test_reserve_refused(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    set_budget(f, "virtual_key", "app", "monthly", 1, USD, -1);
    GwBudgetBlock b = {0};
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 600000000, now0(), &b), ==, GW_OK);
    g_assert_null(b.name);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, 1);
    g_assert_cmpint(reserve_at(f, f->vk, "r2", 400000001, now0(), &b), ==, GW_ETOOBIG);
    g_assert_cmpstr(b.scope, ==, "virtual_key");
    g_assert_cmpstr(b.name, ==, "app");
    g_assert_cmpstr(b.period, ==, "monthly");
    g_assert_cmpint(b.hard_nanos, ==, USD);
    g_assert_cmpint(b.spent_nanos, ==, 0);
    g_assert_cmpint(b.reserved_nanos, ==, 600000000);
    g_assert_cmpint(b.reset_at_ms, ==, utc(2025, 4, 1, 0, 0, 0));
    gw_budget_block_clear(&b);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, 1);
    /* Exactly up to the limit is allowed. */
    g_assert_cmpint(reserve_at(f, f->vk, "r2", 400000000, now0(), &b), ==, GW_OK);
    /* A request id holds one set of reservations. */
    GError *err = NULL;
    g_assert_cmpint(gw_store_budget_reserve(f->st, f->vk, 0, 0, "r2", 0, now0(), TTL_MS, NULL,
                                            &err),
                    ==, GW_EEXISTS);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_reserve(f->st, f->vk, 0, 0, "", 1, now0(), TTL_MS, NULL,
                                            &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_budget_reserve(f->st, f->vk, 0, 0, "r9", -1, now0(), TTL_MS, NULL,
                                            &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    /* A huge estimate is refused, not overflowed. */
    g_assert_cmpint(reserve_at(f, f->vk2, "r3", G_MAXINT64, now0(), NULL), ==, GW_OK);
    settle(f, "r1", 0, now0());
    settle(f, "r2", 0, now0());
    g_assert_cmpint(reserve_at(f, f->vk, "r4", G_MAXINT64, now0(), &b), ==, GW_ETOOBIG);
    gw_budget_block_clear(&b);
}

typedef struct {
    char *path;
    gint64 vk, hard, amount, now;
    int index;
    int ok, refused;
    gint64 max_seen;
} Worker;

#define THREADS 8
#define PER_THREAD 100
#define ALLOWED 37

static gpointer worker_run(gpointer data)
{
    Worker *w = data;
    GError *err = NULL;
    GwStore *st = NULL;
    sqlite3 *raw = NULL;
    g_assert_cmpint(gw_store_open(w->path, &st, &err), ==, GW_OK);
    g_assert_cmpint(sqlite3_open_v2(w->path, &raw, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    for (int i = 0; i < PER_THREAD; i++) {
        char rid[32];
        g_snprintf(rid, sizeof rid, "t%d-%d", w->index, i);
        GwStatus gs;
        /* A lock wait past busy_timeout (slow sanitizer or valgrind runs) is retried. */
        while ((gs = gw_store_budget_reserve(st, w->vk, 0, 0, rid, w->amount, w->now, TTL_MS,
                                             NULL, &err)) == GW_EDB)
            g_clear_error(&err);
        g_clear_error(&err);
        g_assert_true(gs == GW_OK || gs == GW_ETOOBIG);
        if (gs == GW_OK)
            w->ok++;
        else
            w->refused++;
        gint64 sum = raw_int(raw, "SELECT COALESCE(SUM(amount_nanos), 0) "
                                  "FROM budget_reservations");
        w->max_seen = MAX(w->max_seen, sum);
    }
    sqlite3_close(raw);
    gw_store_close(st);
    return NULL;
}

static void test_reserve_concurrent(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    const gint64 amount = 1000000;
    const gint64 hard = ALLOWED * amount + amount - 1;
    set_budget(f, "virtual_key", "app", "monthly", 1, hard, -1);
    Worker w[THREADS];
    GThread *th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (Worker){.path = f->path, .vk = f->vk, .hard = hard, .amount = amount,
                        .now = now0(), .index = i};
        th[i] = g_thread_new("reserver", worker_run, &w[i]);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < THREADS; i++) {
        g_thread_join(th[i]);
        ok += w[i].ok;
        refused += w[i].refused;
        g_assert_cmpint(w[i].max_seen, <=, hard);
    }
    g_assert_cmpint(ok, ==, ALLOWED);
    g_assert_cmpint(refused, ==, THREADS * PER_THREAD - ALLOWED);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, ALLOWED);
    g_assert_cmpint(raw_int(f->raw, "SELECT SUM(amount_nanos) FROM budget_reservations"), ==,
                    ALLOWED * amount);
}

static void test_reserve_expiry(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    set_budget(f, "virtual_key", "app", "monthly", 1, 1000, -1);
    GError *err = NULL;
    gint64 t = now0();
    g_assert_cmpint(gw_store_budget_reserve(f->st, f->vk, 0, 0, "dead", 1000, t, 5000, NULL,
                                            &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 1, t + 4999, NULL), ==, GW_ETOOBIG);
    /* At expires_at the worker is presumed dead: its hold is released and removed. */
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 1000, t + 5000, NULL), ==, GW_OK);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations "
                                    "WHERE request_id = 'dead'"),
                    ==, 0);
    /* Settling the expired one later charges nothing. */
    settle(f, "dead", 1000, t + 6000);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_spend"), ==, 0);
}

static void test_settle(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    set_budget(f, "virtual_key", "app", "monthly", 1, 1000, -1);
    gint64 t = now0();
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 800, t, NULL), ==, GW_OK);
    g_assert_cmpint(reserve_at(f, f->vk, "r2", 201, t, NULL), ==, GW_ETOOBIG);
    /* Settled below the estimate: the rest is free again. */
    settle(f, "r1", 300, t);
    settle(f, "r1", 300, t); /* twice is harmless */
    g_assert_cmpint(raw_int(f->raw, "SELECT spent_nanos FROM budget_spend"), ==, 300);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, 0);
    g_assert_cmpint(reserve_at(f, f->vk, "r2", 700, t, NULL), ==, GW_OK);
    g_assert_cmpint(reserve_at(f, f->vk, "r3", 1, t, NULL), ==, GW_ETOOBIG);
    /* Unknown cost: the reservation is charged. */
    settle(f, "r2", -1, t);
    g_assert_cmpint(raw_int(f->raw, "SELECT spent_nanos FROM budget_spend"), ==, 1000);
    GwBudgetBlock b = {0};
    g_assert_cmpint(reserve_at(f, f->vk, "r3", 1, t, &b), ==, GW_ETOOBIG);
    g_assert_cmpint(b.spent_nanos, ==, 1000);
    g_assert_cmpint(b.reserved_nanos, ==, 0);
    gw_budget_block_clear(&b);
    /* A zero-cost request still fits at the limit. */
    g_assert_cmpint(reserve_at(f, f->vk, "r4", 0, t, NULL), ==, GW_OK);
    settle(f, "never-reserved", 5, t);
    g_assert_cmpint(raw_int(f->raw, "SELECT spent_nanos FROM budget_spend"), ==, 1000);
}

static void test_period_rollover(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    set_budget(f, "virtual_key", "app", "daily", 1, 1000, -1);
    gint64 day1 = utc(2025, 3, 15, 23, 0, 0), day2 = utc(2025, 3, 16, 0, 0, 0);
    g_assert_cmpint(reserve_at(f, f->vk, "a", 1000, day1, NULL), ==, GW_OK);
    settle(f, "a", 1000, day1);
    g_assert_cmpint(reserve_at(f, f->vk, "b", 600, day1, NULL), ==, GW_ETOOBIG);
    /* Reserved late on day 1, settled on day 2: charged to day 1. */
    set_budget(f, "virtual_key", "app", "daily", 1, 2000, -1);
    g_assert_cmpint(reserve_at(f, f->vk, "c", 500, day2 - 1, NULL), ==, GW_OK);
    settle(f, "c", 500, day2 + HOUR_MS);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_spend"), ==, 1);
    /* The new day starts from zero. */
    GwBudgetBlock b = {0};
    g_assert_cmpint(reserve_at(f, f->vk, "d", 2000, day2, &b), ==, GW_OK);
    g_assert_cmpint(reserve_at(f, f->vk, "e", 1, day2, &b), ==, GW_ETOOBIG);
    g_assert_cmpint(b.spent_nanos, ==, 0);
    g_assert_cmpint(b.reserved_nanos, ==, 2000);
    g_assert_cmpint(b.reset_at_ms, ==, day2 + DAY_MS);
    gw_budget_block_clear(&b);
    json_t *o = listed(f, "virtual_key", day1);
    g_assert_cmpint(jint(o, "spent_nanos"), ==, 1500);
    g_assert_cmpint(jint(o, "reserved_nanos"), ==, 0);
    json_decref(o);
    o = listed(f, "virtual_key", day2);
    g_assert_cmpint(jint(o, "spent_nanos"), ==, 0);
    g_assert_cmpint(jint(o, "reserved_nanos"), ==, 2000);
    json_decref(o);
}

static void test_agent_department(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gint64 t = now0();
    set_budget(f, "department", "eng", "monthly", 1, 1000, -1);
    GwBudgetBlock b = {0};
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 700, t, &b), ==, GW_OK);
    /* The other key of the department shares its budget. */
    g_assert_cmpint(reserve_at(f, f->vk2, "r2", 301, t, &b), ==, GW_ETOOBIG);
    g_assert_cmpstr(b.scope, ==, "department");
    g_assert_cmpstr(b.name, ==, "eng");
    gw_budget_block_clear(&b);
    /* Without the department id it does not apply. */
    GError *err = NULL;
    g_assert_cmpint(gw_store_budget_reserve(f->st, f->vk2, f->agent, 0, "r2", 301, t, TTL_MS,
                                            NULL, &err),
                    ==, GW_OK);
    settle(f, "r2", 0, t);

    set_budget(f, "agent", "bot", "monthly", 1, 500, -1);
    g_assert_cmpint(reserve_at(f, f->vk2, "r3", 200, t, &b), ==, GW_OK);
    g_assert_cmpint(reserve_at(f, f->vk2, "r4", 301, t, &b), ==, GW_ETOOBIG);
    g_assert_cmpstr(b.scope, ==, "agent");
    g_assert_cmpstr(b.name, ==, "bot");
    g_assert_cmpint(b.reserved_nanos, ==, 200);
    gw_budget_block_clear(&b);
    /* All three apply: one reservation each; the key's own is named first when it refuses. */
    set_budget(f, "virtual_key", "app", "monthly", 1, 100, -1);
    g_assert_cmpint(reserve_at(f, f->vk, "r5", 101, t, &b), ==, GW_ETOOBIG);
    g_assert_cmpstr(b.scope, ==, "virtual_key");
    gw_budget_block_clear(&b);
    g_assert_cmpint(reserve_at(f, f->vk, "r5", 100, t, &b), ==, GW_OK);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations "
                                    "WHERE request_id = 'r5'"),
                    ==, 3);
    settle(f, "r5", 40, t);
    settle(f, "r1", 700, t);
    settle(f, "r3", 200, t);
    json_t *o = listed(f, "department", t);
    g_assert_cmpint(jint(o, "spent_nanos"), ==, 940);
    json_decref(o);
    o = listed(f, "agent", t);
    g_assert_cmpint(jint(o, "spent_nanos"), ==, 240);
    json_decref(o);
    o = listed(f, "virtual_key", t);
    g_assert_cmpint(jint(o, "spent_nanos"), ==, 40);
    json_decref(o);
}

static void test_soft_alert(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gint64 t = now0();
    set_budget(f, "virtual_key", "app", "monthly", 1, -1, 500);
    /* Soft-only budgets never refuse, but are reserved and charged. */
    g_assert_cmpint(reserve_at(f, f->vk, "r1", 10 * USD, t, NULL), ==, GW_OK);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM budget_reservations"), ==, 1);
    settle(f, "r1", 300, t);
    json_t *o = listed(f, "virtual_key", t);
    g_assert_cmpint(jint(o, "soft_alerted_at"), ==, -1);
    g_assert_true(json_is_null(json_object_get(o, "hard_limit_nanos")));
    json_decref(o);
    g_assert_cmpint(reserve_at(f, f->vk, "r2", 300, t + 1000, NULL), ==, GW_OK);
    settle(f, "r2", 200, t + 2000);
    o = listed(f, "virtual_key", t + 3000);
    g_assert_cmpint(jint(o, "spent_nanos"), ==, 500);
    g_assert_cmpint(jint(o, "soft_alerted_at"), ==, t + 2000);
    json_decref(o);
    /* Only the first crossing is recorded. */
    g_assert_cmpint(reserve_at(f, f->vk, "r3", 300, t + 4000, NULL), ==, GW_OK);
    settle(f, "r3", 100, t + 5000);
    g_assert_cmpint(raw_int(f->raw, "SELECT soft_alerted_at FROM budget_spend"), ==, t + 2000);
    /* A new soft limit re-arms the alert. */
    set_budget(f, "virtual_key", "app", "monthly", 1, -1, 1000);
    g_assert_cmpint(raw_int(f->raw, "SELECT soft_alerted_at IS NULL FROM budget_spend"), ==, 1);
    g_assert_cmpint(reserve_at(f, f->vk, "r4", 400, t + 6000, NULL), ==, GW_OK);
    settle(f, "r4", 400, t + 7000);
    g_assert_cmpint(raw_int(f->raw, "SELECT soft_alerted_at FROM budget_spend"), ==, t + 7000);
    /* The first settle of a period can cross the soft limit too. */
    set_budget(f, "agent", "bot", "monthly", 1, 10000, 100);
    g_assert_cmpint(reserve_at(f, f->vk, "r5", 150, t, NULL), ==, GW_OK);
    settle(f, "r5", 150, t + 8000);
    o = listed(f, "agent", t + 9000);
    g_assert_cmpint(jint(o, "soft_alerted_at"), ==, t + 8000);
    json_decref(o);
}

/* ---- store: rate-limit rules ---- */

static void test_rate_limits(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "virtual_key", "app", "key", NULL, 100, -1,
                                            60000, &err),
                    ==, GW_OK);
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "virtual_key", "app", "property", "Customer",
                                            -1, 5000, 3600000, &err),
                    ==, GW_OK);
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "department", "eng", "ip", "", 10, 0, 1000,
                                            &err),
                    ==, GW_OK);
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "agent", "bot", "session", NULL, 5, -1, 60000,
                                            &err),
                    ==, GW_OK);
    /* Upsert replaces. */
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "virtual_key", "app", "key", NULL, 120, 9000,
                                            30000, &err),
                    ==, GW_OK);
    g_assert_no_error(err);

    GPtrArray *rules = NULL;
    g_assert_cmpint(gw_store_rate_limits_for_key(f->st, f->vk, f->agent, f->dept, &rules, &err),
                    ==, GW_OK);
    g_assert_cmpuint(rules->len, ==, 4);
    GwRateRule *r = g_ptr_array_index(rules, 0);
    g_assert_cmpstr(r->scope, ==, "virtual_key");
    g_assert_cmpint(r->scope_id, ==, f->vk);
    g_assert_cmpstr(r->per, ==, "key");
    g_assert_cmpstr(r->property, ==, "");
    g_assert_cmpint(r->max_requests, ==, 120);
    g_assert_cmpint(r->max_tokens, ==, 9000);
    g_assert_cmpint(r->window_ms, ==, 30000);
    r = g_ptr_array_index(rules, 1);
    g_assert_cmpstr(r->per, ==, "property");
    g_assert_cmpstr(r->property, ==, "customer");
    g_assert_cmpint(r->max_requests, ==, -1);
    g_assert_cmpint(r->max_tokens, ==, 5000);
    r = g_ptr_array_index(rules, 2);
    g_assert_cmpstr(r->scope, ==, "agent");
    r = g_ptr_array_index(rules, 3);
    g_assert_cmpstr(r->scope, ==, "department");
    g_assert_cmpint(r->max_tokens, ==, 0);
    g_ptr_array_unref(rules);

    /* Another key only sees its agent's and department's rules; no ids, no rules. */
    g_assert_cmpint(gw_store_rate_limits_for_key(f->st, f->vk2, f->agent, f->dept, &rules, &err),
                    ==, GW_OK);
    g_assert_cmpuint(rules->len, ==, 2);
    g_ptr_array_unref(rules);
    g_assert_cmpint(gw_store_rate_limits_for_key(f->st, 0, 0, 0, &rules, &err), ==, GW_OK);
    g_assert_cmpuint(rules->len, ==, 0);
    g_ptr_array_unref(rules);

    json_t *arr = NULL;
    g_assert_cmpint(gw_store_rate_limit_list_json(f->st, &arr, &err), ==, GW_OK);
    g_assert_cmpuint(json_array_size(arr), ==, 4);
    json_t *o = json_array_get(arr, 0);
    g_assert_cmpstr(json_string_value(json_object_get(o, "name")), ==, "app");
    g_assert_true(json_is_integer(json_object_get(o, "max_requests")));
    o = json_array_get(arr, 1);
    g_assert_true(json_is_null(json_object_get(o, "max_requests")));
    json_decref(arr);

    /* Both limits none removes the rule. */
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "virtual_key", "app", "property", "customer",
                                            -1, -1, 60000, &err),
                    ==, GW_OK);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM rate_limits"), ==, 3);

    const struct {
        const char *scope, *name, *per, *prop;
        gint64 window;
        GwStatus want;
    } bad[] = {
        {"virtual_key", "nope", "key", NULL, 60000, GW_ENOTFOUND},
        {"team", "app", "key", NULL, 60000, GW_EINVAL},
        {"virtual_key", "app", "user", NULL, 60000, GW_EINVAL},
        {"virtual_key", "app", "property", NULL, 60000, GW_EINVAL},
        {"virtual_key", "app", "key", "x", 60000, GW_EINVAL},
        {"virtual_key", "app", "property", "bad name", 60000, GW_EINVAL},
        {"virtual_key", "app", "key", NULL, 999, GW_EINVAL},
        {"virtual_key", "app", "key", NULL, 31 * DAY_MS, GW_EINVAL},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(gw_store_rate_limit_set(f->st, bad[i].scope, bad[i].name, bad[i].per,
                                                bad[i].prop, 1, 1, bad[i].window, &err),
                        ==, bad[i].want);
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_assert_cmpint(gw_store_rate_limit_set(f->st, "virtual_key", "app", "key", NULL, -2, 1,
                                            60000, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(raw_int(f->raw, "SELECT COUNT(*) FROM rate_limits"), ==, 3);
}

static void test_max_output(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 n = 0;
    g_assert_cmpint(gw_store_price_max_output(f->st, "gpt-4o-mini", &n, &err), ==, GW_OK);
    g_assert_cmpint(n, ==, 16384);
    g_assert_cmpint(gw_store_price_max_output(f->st, "gpt-4o-mini-2024-07-18", &n, &err), ==,
                    GW_OK);
    g_assert_cmpint(n, ==, 16384);
    g_assert_cmpint(gw_store_price_max_output(f->st, "no-such-model", &n, &err), ==, GW_OK);
    g_assert_cmpint(n, ==, -1);
    /* A later price row (which records no limit) does not hide it. */
    GwPrice p = {.provider = (char *)"openai", .model = (char *)"gpt-4o-mini",
                 .input_per_mtok = 1, .output_per_mtok = 2, .cached_input_per_mtok = -1,
                 .effective_from = utc(2030, 1, 1, 0, 0, 0)};
    g_assert_cmpint(gw_store_price_set(f->st, &p, &err), ==, GW_OK);
    g_assert_cmpint(gw_store_price_max_output(f->st, "gpt-4o-mini", &n, &err), ==, GW_OK);
    g_assert_cmpint(n, ==, 16384);
    /* '_' is no wildcard. */
    g_assert_cmpint(gw_store_price_max_output(f->st, "gpt_4o-mini", &n, &err), ==, GW_OK);
    g_assert_cmpint(n, ==, -1);
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define FTEST(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    g_test_add_func("/budget/period/daily", test_period_daily);
    g_test_add_func("/budget/period/weekly", test_period_weekly);
    g_test_add_func("/budget/period/monthly", test_period_monthly);
    g_test_add_func("/budget/period/lifetime-invalid", test_period_lifetime_and_invalid);
    g_test_add_func("/budget/estimate", test_estimate);
    FTEST("/budget/store/set-validation", test_budget_set_validation);
    FTEST("/budget/store/no-budget", test_reserve_no_budget);
    FTEST("/budget/store/refused", test_reserve_refused);
    FTEST("/budget/store/concurrent", test_reserve_concurrent);
    FTEST("/budget/store/expiry", test_reserve_expiry);
    FTEST("/budget/store/settle", test_settle);
    FTEST("/budget/store/rollover", test_period_rollover);
    FTEST("/budget/store/agent-department", test_agent_department);
    FTEST("/budget/store/soft-alert", test_soft_alert);
    FTEST("/budget/rate-limits", test_rate_limits);
    FTEST("/budget/max-output", test_max_output);
    return g_test_run();
}
