/* test_uuid.c — UUID parsing forms and UUIDv7 generation. */
#include "config.h"
#include "uuid.h"

#include <string.h>

#define CANON "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

static gboolean parse(const char *s, char out[GW_UUID_STR_LEN + 1])
{
    return gw_uuid_parse(s, strlen(s), out);
}

static void test_forms(void)
{
    const char *ok[] = {
        CANON,
        "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B",
        "{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}",
        "{0190A1B2-c3d4-7E5F-8a9b-0C1D2E3F4A5B}",
        "urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "URN:UUID:0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B",
        "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
        "0190A1B2C3D47E5F8A9B0C1D2E3F4A5B",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        char out[GW_UUID_STR_LEN + 1];
        memset(out, 'x', sizeof out);
        g_assert_true(parse(ok[i], out));
        g_assert_cmpstr(out, ==, CANON);
    }
    char out[GW_UUID_STR_LEN + 1];
    g_assert_true(parse("00000000-0000-0000-0000-000000000000", out));
    g_assert_cmpstr(out, ==, "00000000-0000-0000-0000-000000000000");
    g_assert_true(parse("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", out));
    g_assert_cmpstr(out, ==, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

static void test_rejects(void)
{
    const char *bad[] = {
        "",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",   /* 35 */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0", /* 37 */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",  /* bad hex */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a-b",
        "0190a1b-2c3d4-7e5f-8a9b-0c1d2e3f4a5b",  /* misplaced hyphens */
        "0190a1b2c-3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "0190a1b2-c3d47-e5f-8a9b-0c1d2e3f4a5b",
        "0190a1b2_c3d4_7e5f_8a9b_0c1d2e3f4a5b",
        "0190a1b2-c3d4-7e5f-8a9b0-c1d2e3f4a5b",
        " 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", /* whitespace */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b ",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n",
        "0190a1b2 c3d4 7e5f 8a9b 0c1d2e3f4a5b",
        "{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}",
        "(0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)",
        "{0190a1b2c3d47e5f8a9b0c1d2e3f4a5b}",
        "urn:uuid:{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}",
        "urn:uuid:0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
        "urn:uid::0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "0190a1b2c3d47e5f8a9b0c1d2e3f4a5",
        "0190a1b2c3d47e5f8a9b0c1d2e3f4a5bb",
        "0x90a1b2c3d47e5f8a9b0c1d2e3f4a5b",
        "+190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "not a uuid",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char out[GW_UUID_STR_LEN + 1];
        if (parse(bad[i], out))
            g_error("accepted \"%s\"", bad[i]);
    }
    char out[GW_UUID_STR_LEN + 1];
    g_assert_false(gw_uuid_parse(NULL, 0, out));
    g_assert_false(gw_uuid_parse(NULL, 36, out));
    /* embedded NUL with a valid length */
    char nul[] = CANON;
    nul[20] = '\0';
    g_assert_false(gw_uuid_parse(nul, 36, out));
    /* the length, not a NUL, bounds the input */
    g_assert_true(gw_uuid_parse(CANON "trailing", 36, out));
    g_assert_false(gw_uuid_parse(CANON, 35, out));
}

static void check_v7(const char *u)
{
    char out[GW_UUID_STR_LEN + 1];
    g_assert_cmpuint(strlen(u), ==, GW_UUID_STR_LEN);
    g_assert_true(parse(u, out));
    g_assert_cmpstr(out, ==, u); /* already canonical */
    g_assert_cmpint(u[14], ==, '7');
    g_assert_true(strchr("89ab", u[19]) != NULL);
}

static guint64 v7_ms(const char *u)
{
    char hex[13];
    memcpy(hex, u, 8);
    memcpy(hex + 8, u + 9, 4);
    hex[12] = '\0';
    return g_ascii_strtoull(hex, NULL, 16);
}

static void test_v7(void)
{
    char a[GW_UUID_STR_LEN + 1], b[GW_UUID_STR_LEN + 1];
    guint64 before = (guint64)(g_get_real_time() / 1000);
    gw_uuid_v7(a);
    guint64 after = (guint64)(g_get_real_time() / 1000);
    check_v7(a);
    g_assert_cmpuint(v7_ms(a), >=, before);
    g_assert_cmpuint(v7_ms(a), <=, after);

    for (int i = 0; i < 5; i++) {
        g_usleep(2000);
        gw_uuid_v7(b);
        check_v7(b);
        g_assert_cmpstr(a, <, b);
        g_assert_cmpuint(v7_ms(a), <, v7_ms(b));
        memcpy(a, b, sizeof a);
    }
}

static void test_v7_unique_ordered(void)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char prev[GW_UUID_STR_LEN + 1] = "";
    for (int i = 0; i < 100000; i++) {
        char u[GW_UUID_STR_LEN + 1];
        gw_uuid_v7(u);
        check_v7(u);
        /* monotonic within the process, even inside one millisecond */
        g_assert_cmpstr(prev, <, u);
        memcpy(prev, u, sizeof u);
        g_assert_false(g_hash_table_contains(seen, u));
        g_hash_table_add(seen, g_strdup(u));
    }
    g_hash_table_unref(seen);
}

typedef struct {
    char ids[20000][GW_UUID_STR_LEN + 1];
} ThreadIds;

static gpointer gen_thread(gpointer data)
{
    ThreadIds *t = data;
    for (size_t i = 0; i < G_N_ELEMENTS(t->ids); i++)
        gw_uuid_v7(t->ids[i]);
    return NULL;
}

static void test_v7_threads(void)
{
    enum { N = 4 };
    ThreadIds *t = g_new(ThreadIds, N);
    GThread *th[N];
    for (int i = 0; i < N; i++)
        th[i] = g_thread_new("uuid", gen_thread, &t[i]);
    for (int i = 0; i < N; i++)
        g_thread_join(th[i]);
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (int i = 0; i < N; i++) {
        for (size_t j = 0; j < G_N_ELEMENTS(t[i].ids); j++) {
            check_v7(t[i].ids[j]);
            if (j > 0)
                g_assert_cmpstr(t[i].ids[j - 1], <, t[i].ids[j]);
            g_assert_true(g_hash_table_add(seen, t[i].ids[j]));
        }
    }
    g_hash_table_unref(seen);
    g_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/uuid/parse/forms", test_forms);
    g_test_add_func("/uuid/parse/rejects", test_rejects);
    g_test_add_func("/uuid/v7/bits_and_order", test_v7);
    g_test_add_func("/uuid/v7/unique", test_v7_unique_ordered);
    g_test_add_func("/uuid/v7/threads", test_v7_threads);
    return g_test_run();
}
