/* test_admin.c — the admin program's pure pieces: percent-decoding, form/query and Cookie
 * parsing, HTML escaping, CSRF comparison, yescrypt password round trip and token shapes. */
#include "config.h"

#include <string.h>
#include "adminauth.h"
#include "crypto.h"
#include "csrf.h"
#include "form.h"
#include "html.h"

static void test_url_decode(void)
{
    char *s = adm_url_decode("a%20b+c%2B%e2%82%ac", strlen("a%20b+c%2B%e2%82%ac"), TRUE);
    g_assert_cmpstr(s, ==, "a b c+\xe2\x82\xac");
    g_free(s);
    s = adm_url_decode("a+b", 3, FALSE);
    g_assert_cmpstr(s, ==, "a+b");
    g_free(s);
    /* malformed escapes, NUL, invalid UTF-8 */
    g_assert_null(adm_url_decode("%", 1, TRUE));
    g_assert_null(adm_url_decode("%4", 2, TRUE));
    g_assert_null(adm_url_decode("%zz", 3, TRUE));
    g_assert_null(adm_url_decode("a%00b", 5, TRUE));
    g_assert_null(adm_url_decode("%ff%fe", 6, TRUE));
    /* only len bytes are read */
    s = adm_url_decode("ab%41", 2, TRUE);
    g_assert_cmpstr(s, ==, "ab");
    g_free(s);
}

static void test_form_parse(void)
{
    GHashTable *t = NULL;
    const char *in = "name=x%3Cy&empty=&flag&name=second&&sp=a+b";
    g_assert_cmpint(adm_form_parse(in, strlen(in), &t, NULL), ==, GW_OK);
    g_assert_cmpstr(g_hash_table_lookup(t, "name"), ==, "x<y"); /* the first wins */
    g_assert_cmpstr(g_hash_table_lookup(t, "empty"), ==, "");
    g_assert_cmpstr(g_hash_table_lookup(t, "flag"), ==, "");
    g_assert_cmpstr(g_hash_table_lookup(t, "sp"), ==, "a b");
    g_assert_cmpuint(g_hash_table_size(t), ==, 4);
    g_hash_table_unref(t);

    g_assert_cmpint(adm_form_parse(NULL, 0, &t, NULL), ==, GW_OK);
    g_assert_cmpuint(g_hash_table_size(t), ==, 0);
    g_hash_table_unref(t);

    GError *err = NULL;
    t = NULL;
    g_assert_cmpint(adm_form_parse("a=%zz", 5, &t, &err), ==, GW_EINVAL);
    g_assert_null(t);
    g_clear_error(&err);

    GString *many = g_string_new(NULL);
    for (int i = 0; i <= ADM_FORM_MAX_FIELDS; i++)
        g_string_append_printf(many, "f%d=1&", i);
    g_assert_cmpint(adm_form_parse(many->str, many->len, &t, &err), ==, GW_ETOOBIG);
    g_clear_error(&err);
    g_string_free(many, TRUE);
}

static void test_cookies(void)
{
    GHashTable *t = adm_cookies_parse(" a=1; alephant_admin=abc_-DEF ; b=\"q\"; bad; c=x y; a=2; "
                                      "d=<x>;=v");
    g_assert_cmpstr(g_hash_table_lookup(t, "a"), ==, "1");
    g_assert_cmpstr(g_hash_table_lookup(t, "alephant_admin"), ==, "abc_-DEF");
    g_assert_cmpstr(g_hash_table_lookup(t, "b"), ==, "q");
    g_assert_null(g_hash_table_lookup(t, "bad"));
    g_assert_null(g_hash_table_lookup(t, "c")); /* a space inside the value */
    g_assert_cmpstr(g_hash_table_lookup(t, "d"), ==, "<x>");
    g_assert_cmpuint(g_hash_table_size(t), ==, 4);
    g_hash_table_unref(t);
    t = adm_cookies_parse(NULL);
    g_assert_cmpuint(g_hash_table_size(t), ==, 0);
    g_hash_table_unref(t);
}

static void test_html_escape(void)
{
    char *s = adm_html_escape_dup("<script>alert(1)</script>\"><img src=x onerror='y'>&amp;");
    g_assert_cmpstr(s, ==, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x "
                           "onerror=&#39;y&#39;&gt;&amp;amp;");
    g_free(s);
    /* control characters dropped, tab and newline kept, invalid UTF-8 replaced */
    s = adm_html_escape_dup("a\x01\x1b[31m\tb\nc\x7f\xff");
    g_assert_cmpstr(s, ==, "a[31m\tb\nc\xef\xbf\xbd");
    g_free(s);
    s = adm_html_escape_dup(NULL);
    g_assert_cmpstr(s, ==, "");
    g_free(s);

    GString *out = g_string_new(NULL);
    adm_html(out, "<a href=\"%s\">%s</a> %d %l 100%%", "x\"y", "<b>", -3, (gint64)1 << 40);
    g_assert_cmpstr(out->str, ==, "<a href=\"x&quot;y\">&lt;b&gt;</a> -3 1099511627776 100%");
    g_string_truncate(out, 0);
    adm_html(out, "%s|%s", NULL, "");
    g_assert_cmpstr(out->str, ==, "|");
    g_string_free(out, TRUE);
}

static void test_csrf_equal(void)
{
    g_assert_true(adm_csrf_equal("abcdef", "abcdef"));
    g_assert_false(adm_csrf_equal("abcdef", "abcdeg"));
    g_assert_false(adm_csrf_equal("abcdef", "abcde"));
    g_assert_false(adm_csrf_equal("abcdef", "abcdefg"));
    g_assert_false(adm_csrf_equal("abcdef", NULL));
    g_assert_false(adm_csrf_equal(NULL, "abcdef"));
    g_assert_false(adm_csrf_equal("", ""));
}

static void test_password_round_trip(void)
{
    char *hash = NULL;
    g_assert_cmpint(gw_password_hash("correct horse battery", &hash, NULL), ==, GW_OK);
    g_assert_true(g_str_has_prefix(hash, "$y$"));
    g_assert_null(strstr(hash, "correct"));
    g_assert_true(gw_password_verify("correct horse battery", hash));
    g_assert_false(gw_password_verify("correct horse batterx", hash));
    g_assert_false(gw_password_verify("", hash));
    g_assert_false(gw_password_verify("correct horse battery", ""));
    g_assert_false(gw_password_verify("correct horse battery", "*0"));
    /* a new salt every time */
    char *again = NULL;
    g_assert_cmpint(gw_password_hash("correct horse battery", &again, NULL), ==, GW_OK);
    g_assert_cmpstr(hash, !=, again);
    g_assert_true(gw_password_verify("correct horse battery", again));
    g_free(hash);
    g_free(again);

    GError *err = NULL;
    hash = NULL;
    g_assert_cmpint(gw_password_hash("short", &hash, &err), ==, GW_EINVAL);
    g_assert_null(hash);
    g_clear_error(&err);
    g_assert_cmpint(gw_password_hash("line\nbreak-password", &hash, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    char *big = g_strnfill(GW_PASSWORD_MAX + 1, 'x');
    g_assert_cmpint(gw_password_hash(big, &hash, &err), ==, GW_ETOOBIG);
    g_clear_error(&err);
    g_free(big);
}

static void test_tokens(void)
{
    char *t = gw_random_token(GW_ADMIN_TOKEN_PREFIX, 32);
    g_assert_cmpuint(strlen(t), ==, GW_ADMIN_TOKEN_LEN);
    g_assert_true(gw_admin_token_is_well_formed(t));
    char *u = gw_random_token(GW_ADMIN_TOKEN_PREFIX, 32);
    g_assert_cmpstr(t, !=, u);
    t[10] = '+';
    g_assert_false(gw_admin_token_is_well_formed(t));
    g_assert_false(gw_admin_token_is_well_formed("adm-short"));
    g_assert_false(gw_admin_token_is_well_formed(NULL));
    u[0] = 'v';
    g_assert_false(gw_admin_token_is_well_formed(u));
    gw_secret_free(t);
    gw_secret_free(u);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/admin/url_decode", test_url_decode);
    g_test_add_func("/admin/form_parse", test_form_parse);
    g_test_add_func("/admin/cookies", test_cookies);
    g_test_add_func("/admin/html_escape", test_html_escape);
    g_test_add_func("/admin/csrf_equal", test_csrf_equal);
    g_test_add_func("/admin/password_round_trip", test_password_round_trip);
    g_test_add_func("/admin/tokens", test_tokens);
    return g_test_run();
}
