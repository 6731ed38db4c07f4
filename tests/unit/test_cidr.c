/* test_cidr.c — IP address parsing/formatting and CIDR list parsing and membership. */
#include "config.h"
#include "cidr.h"

#include <string.h>

static gboolean parse(const char *s, GwIp *ip)
{
    return gw_ip_parse(s, strlen(s), ip);
}

/* Parses s and returns its canonical text (static buffer), or NULL when refused. */
static const char *canon(const char *s)
{
    static char buf[INET6_ADDRSTRLEN];
    GwIp ip;
    if (!parse(s, &ip))
        return NULL;
    g_assert_true(gw_ip_format(&ip, buf));
    return buf;
}

static void test_ip_ok(void)
{
    static const struct {
        const char *in, *out;
        int family;
    } cases[] = {
        {"1.2.3.4", "1.2.3.4", AF_INET},
        {"0.0.0.0", "0.0.0.0", AF_INET},
        {"255.255.255.255", "255.255.255.255", AF_INET},
        {"1.2.3.4:5678", "1.2.3.4", AF_INET},
        {"1.2.3.4:0", "1.2.3.4", AF_INET},
        {"1.2.3.4:65535", "1.2.3.4", AF_INET},
        {"::1", "::1", AF_INET6},
        {"::", "::", AF_INET6},
        {"2001:DB8::1", "2001:db8::1", AF_INET6},
        {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", AF_INET6},
        {"[::1]", "::1", AF_INET6},
        {"[::1]:443", "::1", AF_INET6},
        {"[2001:db8::1]:8080", "2001:db8::1", AF_INET6},
        {"::ffff:1.2.3.4", "1.2.3.4", AF_INET},
        {"::FFFF:7f00:1", "127.0.0.1", AF_INET},
        {"[::ffff:10.0.0.1]:80", "10.0.0.1", AF_INET},
        {"::1.2.3.4", "::1.2.3.4", AF_INET6}, /* compatible form is not mapped */
        {"64:ff9b::1.2.3.4", "64:ff9b::102:304", AF_INET6},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GwIp ip;
        if (!parse(cases[i].in, &ip))
            g_error("'%s' should parse", cases[i].in);
        g_assert_cmpint(ip.family, ==, cases[i].family);
        g_assert_cmpstr(canon(cases[i].in), ==, cases[i].out);
    }
    /* IPv4 keeps the unused bytes zero so whole structs compare equal. */
    GwIp a, b;
    g_assert_true(parse("::ffff:1.2.3.4", &a));
    g_assert_true(parse("1.2.3.4:99", &b));
    g_assert_true(memcmp(&a, &b, sizeof a) == 0);
    g_assert_true(gw_ip_equal(&a, &b));
    g_assert_true(parse("::1", &b));
    g_assert_false(gw_ip_equal(&a, &b));
    g_assert_false(gw_ip_equal(&a, NULL));
}

static void test_ip_refused(void)
{
    const char *bad[] = {
        "", " ", "localhost", "example.com", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4",
        "01.2.3.4", "0x7f.0.0.1", "2130706433", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "1.2.3.4/32",
        "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:123456", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4:8x",
        "1.2.3.4:80:80", "[1.2.3.4]", "[1.2.3.4]:80", "::1:", "[::1", "::1]", "[::1]]", "[[::1]]",
        "[::1]:", "[::1]x", "[::1]:http", "[::1]:70000", "[]", "[]:80", "fe80::1%eth0",
        "[fe80::1%eth0]", "[fe80::1%25eth0]:80", "1:2:3:4:5:6:7:8:9", "12345::", "::g",
        "2001:db8::1:80x", ":::", "x1.2.3.4", "1.2.3.4x", "[::1] ", "1.2.3.4,5.6.7.8",
        "1.2.3.4 5.6.7.8",
        "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:1", /* over the cap */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GwIp ip;
        memset(&ip, 0xab, sizeof ip);
        if (parse(bad[i], &ip))
            g_error("'%s' should be refused", bad[i]);
        g_assert_cmpint(ip.family, ==, 0); /* zeroed on failure */
    }
    GwIp ip;
    /* Length-bounded input: the bytes after len are not read. */
    g_assert_true(gw_ip_parse("10.0.0.1junk", 8, &ip));
    g_assert_cmpstr(canon("10.0.0.1"), ==, "10.0.0.1");
    /* An embedded NUL is junk, not a terminator. */
    g_assert_false(gw_ip_parse("1.2.3.4\0x", 9, &ip));
    g_assert_false(gw_ip_parse(NULL, 0, &ip));
    g_assert_false(gw_ip_parse("1.2.3.4", 0, &ip));
}

static void test_ip_format(void)
{
    char buf[INET6_ADDRSTRLEN];
    GwIp ip;
    memset(&ip, 0, sizeof ip);
    memset(buf, 'x', sizeof buf);
    g_assert_false(gw_ip_format(&ip, buf));
    g_assert_cmpstr(buf, ==, "");
    g_assert_false(gw_ip_format(NULL, buf));
    /* The longest IPv6 text fits. */
    g_assert_true(parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &ip));
    g_assert_true(gw_ip_format(&ip, buf));
    g_assert_cmpstr(buf, ==, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
}

static GwCidrList *list(const char *spec)
{
    GwCidrList *l = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_cidr_list_parse(spec, &l, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_nonnull(l);
    return l;
}

static gboolean in(const GwCidrList *l, const char *addr)
{
    GwIp ip;
    if (!parse(addr, &ip))
        g_error("test address '%s' does not parse", addr);
    return gw_cidr_list_contains(l, &ip);
}

static void test_list_basic(void)
{
    GwCidrList *l = list("10.0.0.0/8, 2001:db8::/32, 127.0.0.1");
    g_assert_cmpuint(gw_cidr_list_size(l), ==, 3);
    g_assert_true(in(l, "10.0.0.0"));
    g_assert_true(in(l, "10.255.255.255"));
    g_assert_true(in(l, "10.1.2.3:80"));
    g_assert_true(in(l, "::ffff:10.9.9.9")); /* mapped → IPv4 */
    g_assert_false(in(l, "11.0.0.0"));
    g_assert_false(in(l, "9.255.255.255"));
    g_assert_true(in(l, "127.0.0.1"));
    g_assert_false(in(l, "127.0.0.2"));
    g_assert_true(in(l, "2001:db8::"));
    g_assert_true(in(l, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    g_assert_true(in(l, "[2001:db8:1::5]:443"));
    g_assert_false(in(l, "2001:db9::"));
    g_assert_false(in(l, "2001:db7:ffff::1"));
    g_assert_false(in(l, "::1"));
    gw_cidr_list_free(l);
}

static void test_list_boundaries(void)
{
    GwCidrList *l = list("0.0.0.0/0");
    g_assert_true(in(l, "0.0.0.0"));
    g_assert_true(in(l, "255.255.255.255"));
    g_assert_false(in(l, "::1")); /* IPv4 ranges never hold IPv6 */
    gw_cidr_list_free(l);

    l = list("::/0");
    g_assert_true(in(l, "::"));
    g_assert_true(in(l, "ffff::1"));
    g_assert_false(in(l, "1.2.3.4"));        /* nor IPv6 ranges IPv4 */
    g_assert_false(in(l, "::ffff:1.2.3.4")); /* which mapped addresses are */
    gw_cidr_list_free(l);

    l = list("192.168.1.7/32 ::1/128");
    g_assert_true(in(l, "192.168.1.7"));
    g_assert_false(in(l, "192.168.1.6"));
    g_assert_false(in(l, "192.168.1.8"));
    g_assert_true(in(l, "::1"));
    g_assert_false(in(l, "::2"));
    g_assert_false(in(l, "::"));
    gw_cidr_list_free(l);

    /* Prefixes that do not fall on byte boundaries; host bits are ignored. */
    l = list("172.16.0.0/12,10.1.2.3/31,fe80::1/10, 2001:db8:abcd:12::/63");
    g_assert_true(in(l, "172.16.0.0"));
    g_assert_true(in(l, "172.31.255.255"));
    g_assert_false(in(l, "172.32.0.0"));
    g_assert_false(in(l, "172.15.255.255"));
    g_assert_true(in(l, "10.1.2.2"));
    g_assert_true(in(l, "10.1.2.3"));
    g_assert_false(in(l, "10.1.2.4"));
    g_assert_false(in(l, "10.1.2.1"));
    g_assert_true(in(l, "fe80::"));
    g_assert_true(in(l, "febf:ffff::1"));
    g_assert_false(in(l, "fec0::"));
    g_assert_true(in(l, "2001:db8:abcd:12::1"));
    g_assert_true(in(l, "2001:db8:abcd:13:ffff::1"));
    g_assert_false(in(l, "2001:db8:abcd:14::"));
    g_assert_false(in(l, "2001:db8:abcd:11:ffff:ffff:ffff:ffff"));
    gw_cidr_list_free(l);

    /* IPv4-mapped entries become IPv4 ranges. */
    l = list("::ffff:10.0.0.0/104, ::ffff:192.0.2.1");
    g_assert_cmpuint(gw_cidr_list_size(l), ==, 2);
    g_assert_true(in(l, "10.200.0.1"));
    g_assert_false(in(l, "11.0.0.1"));
    g_assert_true(in(l, "192.0.2.1"));
    g_assert_false(in(l, "192.0.2.2"));
    gw_cidr_list_free(l);
    l = list("::ffff:0:0/96");
    g_assert_true(in(l, "8.8.8.8"));
    g_assert_false(in(l, "::1"));
    gw_cidr_list_free(l);
}

static void test_list_empty(void)
{
    const char *blank[] = {"", " ", ",", " , ,\t\n", NULL};
    for (size_t i = 0; i < G_N_ELEMENTS(blank); i++) {
        GwCidrList *l = list(blank[i]);
        g_assert_cmpuint(gw_cidr_list_size(l), ==, 0);
        g_assert_false(in(l, "1.2.3.4"));
        g_assert_false(in(l, "::1"));
        gw_cidr_list_free(l);
    }
    g_assert_false(in(NULL, "1.2.3.4"));
    g_assert_false(gw_cidr_list_contains(NULL, NULL));
    g_assert_cmpuint(gw_cidr_list_size(NULL), ==, 0);
    gw_cidr_list_free(NULL);

    GwCidrList *l = list(",,10.0.0.0/8,,\t192.168.0.0/16  ,");
    g_assert_cmpuint(gw_cidr_list_size(l), ==, 2);
    g_assert_false(gw_cidr_list_contains(l, NULL));
    gw_cidr_list_free(l);
}

static void test_list_refused(void)
{
    static const struct {
        const char *spec, *named;
    } bad[] = {
        {"10.0.0.0/33", "10.0.0.0/33"},
        {"2001:db8::/129", "2001:db8::/129"},
        {"10.0.0.0/", "10.0.0.0/"},
        {"10.0.0.0/-1", "10.0.0.0/-1"},
        {"10.0.0.0/+8", "10.0.0.0/+8"},
        {"10.0.0.0/8/8", "10.0.0.0/8/8"},
        {"10.0.0.0/0008", "10.0.0.0/0008"},
        {"10.0.0.0/x", "10.0.0.0/x"},
        {"/8", "/8"},
        {"10.0.0/8", "10.0.0/8"},
        {"localhost", "localhost"},
        {"1.2.3.4:80", "1.2.3.4:80"},
        {"[::1]", "[::1]"},
        {"[::1]/128", "[::1]/128"},
        {"fe80::1%eth0/64", "fe80::1%eth0/64"},
        {"::ffff:10.0.0.0/95", "::ffff:10.0.0.0/95"},
        {"10.0.0.0/8, nope, 127.0.0.1", "nope"},
        {"127.0.0.1;10.0.0.0/8", "127.0.0.1;10.0.0.0/8"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GwCidrList *l = (GwCidrList *)&l; /* must be reset to NULL */
        GError *err = NULL;
        if (gw_cidr_list_parse(bad[i].spec, &l, &err) != GW_EINVAL)
            g_error("'%s' should be refused", bad[i].spec);
        g_assert_null(l);
        g_assert_error(err, GW_ERROR, GW_EINVAL);
        char *want = g_strdup_printf("'%s'", bad[i].named);
        if (strstr(err->message, want) == NULL)
            g_error("message '%s' should name %s", err->message, want);
        g_free(want);
        g_error_free(err);
    }

    /* Long or binary junk is echoed escaped and cut. */
    GString *spec = g_string_new("10.0.0.0/8 ");
    for (int i = 0; i < 500; i++)
        g_string_append_c(spec, 'a');
    g_string_append(spec, "\x01\xff");
    GwCidrList *l = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_cidr_list_parse(spec->str, &l, &err), ==, GW_EINVAL);
    g_assert_null(l);
    g_assert_cmpuint(strlen(err->message), <, 200);
    g_assert_nonnull(strstr(err->message, "...'"));
    g_error_free(err);
    g_string_free(spec, TRUE);

    err = NULL;
    g_assert_cmpint(gw_cidr_list_parse("1.2.3.4/8\x01", &l, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "\\001"));
    g_error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cidr/ip/accepted", test_ip_ok);
    g_test_add_func("/cidr/ip/refused", test_ip_refused);
    g_test_add_func("/cidr/ip/format", test_ip_format);
    g_test_add_func("/cidr/list/basic", test_list_basic);
    g_test_add_func("/cidr/list/boundaries", test_list_boundaries);
    g_test_add_func("/cidr/list/empty", test_list_empty);
    g_test_add_func("/cidr/list/refused", test_list_refused);
    return g_test_run();
}
