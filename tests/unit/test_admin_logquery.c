/* test_admin_logquery.c — the admin's Logs/Sessions/Analytics query parameters: times, filters,
 * cursors, ranges and the links written back. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "logquery.h"

static GHashTable *fields(const char *first, ...)
{
    GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);
    va_list ap;
    va_start(ap, first);
    for (const char *k = first; k != NULL; k = va_arg(ap, const char *))
        g_hash_table_insert(t, (gpointer)k, va_arg(ap, char *));
    va_end(ap);
    return t;
}

static void test_time(void)
{
    gint64 ms = 0;
    g_assert_cmpint(adm_time_parse("2026-01-02", &ms, NULL), ==, GW_OK);
    g_assert_cmpint(ms, ==, G_GINT64_CONSTANT(1767312000000));
    g_assert_cmpint(adm_time_parse("2026-01-02T03:04", &ms, NULL), ==, GW_OK);
    g_assert_cmpint(ms, ==, G_GINT64_CONSTANT(1767312000000) + (3 * 60 + 4) * 60000);
    g_assert_cmpint(adm_time_parse("2026-01-02 03:04:05", &ms, NULL), ==, GW_OK);
    g_assert_cmpint(ms % 60000, ==, 5000);
    g_assert_cmpint(adm_time_parse("1700000000123", &ms, NULL), ==, GW_OK);
    g_assert_cmpint(ms, ==, G_GINT64_CONSTANT(1700000000123));
    const char *bad[] = {"", "yesterday", "2026-13-01", "2026-02-30", "2026-1-02", "2026-01-02T3:04",
                         "+026-01-02", "2026-01-02T03:04Z", "2026-01- 2", "9999999999999999999",
                         "2026-01-02T03:-4"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        g_assert_cmpint(adm_time_parse(bad[i], &ms, &err), ==, GW_EINVAL);
        g_clear_error(&err);
    }
    char *s = adm_time_input(G_GINT64_CONSTANT(1767312000000) + 3 * 3600000);
    g_assert_cmpstr(s, ==, "2026-01-02T03:00");
    g_free(s);
}

static void test_filter(void)
{
    GwLogFilter f;
    GError *err = NULL;
    GHashTable *q = fields("from", "2026-01-02", "virtual_key", "k<1>", "status", "5xx", "cache",
                           "hit", "property", "env", "value", "prod", "cursor", "42", "limit", "20",
                           "model", "", NULL);
    g_assert_cmpint(adm_log_filter_parse(q, 50, &f, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(f.from_ms, ==, G_GINT64_CONSTANT(1767312000000));
    g_assert_cmpint(f.to_ms, ==, 0);
    g_assert_cmpstr(f.virtual_key, ==, "k<1>");
    g_assert_cmpstr(f.status, ==, "5xx");
    g_assert_cmpstr(f.cache_status, ==, "HIT");
    g_assert_cmpstr(f.property_name, ==, "env");
    g_assert_cmpstr(f.property_value, ==, "prod");
    g_assert_cmpint(f.before_id, ==, 42);
    g_assert_cmpint(f.limit, ==, 20);
    g_assert_null(f.model); /* empty form field: no filter */
    GString *link = g_string_new(NULL);
    adm_query_append(link, q, adm_log_filter_params);
    g_assert_cmpstr(link->str, ==,
                    "from=2026-01-02&virtual_key=k%3C1%3E&status=5xx&cache=hit&property=env"
                    "&value=prod&limit=20");
    g_string_free(link, TRUE);
    g_hash_table_unref(q);

    const char *bad[][2] = {{"limit", "0"}, {"limit", "201"}, {"limit", "x"}, {"cursor", "-3"},
                            {"cache", "maybe"}, {"status", "9xx"}, {"value", "orphan"},
                            {"to", "soon"}};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        q = fields(bad[i][0], bad[i][1], NULL);
        g_assert_cmpint(adm_log_filter_parse(q, 50, &f, &err), ==, GW_EINVAL);
        g_assert_nonnull(err);
        g_clear_error(&err);
        g_hash_table_unref(q);
    }
    g_assert_cmpint(adm_log_filter_parse(NULL, 50, &f, NULL), ==, GW_OK);
    g_assert_cmpint(f.limit, ==, 50);
}

static void test_sessions(void)
{
    GwSessionQuery s;
    GHashTable *q = fields("cursor_at", "1700000000000", "cursor_id", "s-1", "limit", "5", NULL);
    g_assert_cmpint(adm_session_query_parse(q, 50, &s, NULL), ==, GW_OK);
    g_assert_cmpint(s.before_last_at, ==, G_GINT64_CONSTANT(1700000000000));
    g_assert_cmpstr(s.before_session, ==, "s-1");
    g_assert_cmpint(s.limit, ==, 5);
    g_hash_table_unref(q);
    GError *err = NULL;
    q = fields("cursor_at", "abc", NULL);
    g_assert_cmpint(adm_session_query_parse(q, 50, &s, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_hash_table_unref(q);
}

static void test_analytics(void)
{
    AdmAnalyticsQuery a;
    GError *err = NULL;
    gint64 now = G_GINT64_CONSTANT(1767312000000);
    g_assert_cmpint(adm_analytics_query_parse(NULL, now, &a, NULL), ==, GW_OK);
    g_assert_cmpstr(a.range, ==, "7d");
    g_assert_cmpint(a.to_ms - a.from_ms, ==, 7 * GW_DAY_MS);
    g_assert_cmpint(a.by, ==, GW_DIM_MODEL);
    g_assert_cmpint(a.top, ==, 10);
    GHashTable *q = fields("range", "24h", "by", "property", "property", "env", "top", "3", NULL);
    g_assert_cmpint(adm_analytics_query_parse(q, now, &a, NULL), ==, GW_OK);
    g_assert_cmpint(a.to_ms - a.from_ms, ==, GW_DAY_MS);
    g_assert_cmpint(a.by, ==, GW_DIM_PROPERTY);
    g_assert_cmpstr(a.property, ==, "env");
    g_assert_cmpint(a.top, ==, 3);
    g_hash_table_unref(q);
    q = fields("from", "2026-01-01", "to", "2026-01-02", "range", "24h", NULL);
    g_assert_cmpint(adm_analytics_query_parse(q, now, &a, NULL), ==, GW_OK);
    g_assert_null(a.range);
    g_assert_cmpint(a.to_ms, ==, now);
    g_assert_cmpint(a.from_ms, ==, now - GW_DAY_MS);
    g_hash_table_unref(q);
    const char *bad[][2] = {{"range", "1y"}, {"by", "l.model"}, {"by", "property"}, {"top", "0"},
                            {"top", "101"}, {"from", "x"}};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        q = fields(bad[i][0], bad[i][1], NULL);
        g_assert_cmpint(adm_analytics_query_parse(q, now, &a, &err), ==, GW_EINVAL);
        g_clear_error(&err);
        g_hash_table_unref(q);
    }
    q = fields("from", "2026-01-02", "to", "2026-01-01", NULL);
    g_assert_cmpint(adm_analytics_query_parse(q, now, &a, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_hash_table_unref(q);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/admin-logquery/time", test_time);
    g_test_add_func("/admin-logquery/filter", test_filter);
    g_test_add_func("/admin-logquery/sessions", test_sessions);
    g_test_add_func("/admin-logquery/analytics", test_analytics);
    return g_test_run();
}
