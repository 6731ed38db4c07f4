/* test_netaddr.c — private address detection and base URL validation. */
#include "config.h"
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static gboolean private_ip(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        g_assert_cmpint(inet_pton(AF_INET6, ip, &s6->sin6_addr), ==, 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        g_assert_cmpint(inet_pton(AF_INET, ip, &s4->sin_addr), ==, 1);
    }
    return gw_addr_is_private((const struct sockaddr *)&ss);
}

static void test_private(void)
{
    const char *priv[] = {
        "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0",
        "0.1.2.3", "255.255.255.255", "224.0.0.1", "240.0.0.1", "192.0.2.1", "198.51.100.7",
        "203.0.113.9", "198.18.0.1", "192.0.0.170",
        "::", "::1", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::127.0.0.1",
        "::ffff:0:127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1",
        "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2001:db8::1", "2001:0:4136:e378::1",
        "100::1", "3fff::1",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(priv); i++)
        if (!private_ip(priv[i]))
            g_error("%s should be private", priv[i]);

    const char *pub[] = {
        "8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "100.63.255.255",
        "169.255.0.1", "11.0.0.1", "192.169.0.1", "2606:4700::1", "2a00:1450:4001::200e",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:4860:4860::8888",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(pub); i++)
        if (private_ip(pub[i]))
            g_error("%s should be public", pub[i]);

    g_assert_true(gw_addr_is_private(NULL));
    struct sockaddr sa = {.sa_family = AF_UNIX};
    g_assert_true(gw_addr_is_private(&sa));
}

static void url_ok(const char *url, gboolean allow, const char *want)
{
    char *out = NULL;
    GError *err = NULL;
    GwStatus st = gw_base_url_check(url, allow, &out, &err);
    if (st != GW_OK)
        g_error("%s (allow_private=%d) refused: %s", url, allow, err->message);
    g_assert_cmpstr(out, ==, want);
    g_free(out);
}

static void url_bad(const char *url, gboolean allow)
{
    char *out = NULL;
    GError *err = NULL;
    GwStatus st = gw_base_url_check(url, allow, &out, &err);
    if (st == GW_OK)
        g_error("%s (allow_private=%d) accepted as %s", url, allow, out);
    g_assert_cmpint(st, ==, GW_EINVAL);
    g_assert_error(err, GW_ERROR, GW_EINVAL);
    g_assert_null(out);
    g_error_free(err);
}

static void test_url_basic(void)
{
    url_ok("https://api.openai.com/v1", FALSE, "https://api.openai.com/v1");
    url_ok("https://api.openai.com/v1/", FALSE, "https://api.openai.com/v1");
    url_ok("https://api.anthropic.com", FALSE, "https://api.anthropic.com");
    url_ok("https://api.anthropic.com/", FALSE, "https://api.anthropic.com");
    url_ok("https://API.Example.COM:443/v1//", FALSE, "https://api.example.com/v1");
    url_ok("https://example.com:8443/a/../b", FALSE, "https://example.com:8443/b");
    url_ok("https://8.8.8.8/v1", FALSE, "https://8.8.8.8/v1");
    url_ok("https://[2606:4700::1]/v1", FALSE, "https://[2606:4700::1]/v1");
    url_ok("HTTPS://example.com", FALSE, "https://example.com");

    /* plain http only with allow_private */
    url_bad("http://api.example.com/v1", FALSE);
    url_ok("http://api.example.com/v1", TRUE, "http://api.example.com/v1");
    url_ok("http://127.0.0.1:8080/v1/", TRUE, "http://127.0.0.1:8080/v1");
    url_bad("http://127.0.0.1:8080/v1", FALSE);
    url_bad("https://127.0.0.1/v1", FALSE);
    url_ok("https://127.0.0.1/v1", TRUE, "https://127.0.0.1/v1");

    /* other schemes, none, or no host */
    url_bad("ftp://example.com/", TRUE);
    url_bad("file:///etc/passwd", TRUE);
    url_bad("gopher://example.com/", TRUE);
    url_bad("example.com/v1", TRUE);
    url_bad("//example.com/v1", TRUE);
    url_bad("https://", TRUE);
    url_bad("https:///v1", TRUE);
    url_bad("https:example.com", TRUE);
    url_bad("", TRUE);
    url_bad(NULL, TRUE);
}

static void test_url_ip_forms(void)
{
    const char *loopback[] = {
        "https://2130706433/", "https://0x7f000001/", "https://0177.0.0.1/", "https://127.1/",
        "https://0x7f.1/", "https://127.0.0.1./", "https://2130706433./", "https://017700000001/",
        "https://%31%32%37.0.0.1/", "https://0/", "https://[::1]/", "https://[::ffff:127.0.0.1]/",
        "https://[0:0:0:0:0:ffff:7f00:1]/", "https://[::ffff:7f00:1]/", "https://[fe80::1]/",
        "https://[fe80::1%25eth0]/", "https://[fc00::1]/", "https://169.254.169.254/latest",
        "https://[::ffff:a9fe:a9fe]/", "https://[64:ff9b::a9fe:a9fe]/", "https://100.64.0.1/",
        "https://10.0.0.1/", "https://192.168.0.1:443/", "https://0.0.0.0/",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(loopback); i++)
        url_bad(loopback[i], FALSE);
    /* with allow_private they pass, normalised by curl */
    url_ok("https://2130706433/", TRUE, "https://127.0.0.1");
    url_ok("https://0x7f000001/v1/", TRUE, "https://127.0.0.1/v1");
    url_ok("https://0177.0.0.1/", TRUE, "https://127.0.0.1");
    url_ok("https://127.1/", TRUE, "https://127.0.0.1");
    url_ok("http://[::ffff:127.0.0.1]:8080/", TRUE, "http://[::ffff:127.0.0.1]:8080");
    url_ok("https://[FE80::1%25eth0]/v1/", TRUE, "https://[fe80::1%25eth0]/v1");
    /* public addresses in odd forms are fine */
    url_ok("https://134744072/", FALSE, "https://8.8.8.8");
    /* numbers that are no address at all */
    url_bad("https://999.1.1.1/", TRUE);
    url_bad("https://4294967296/", TRUE);
    url_bad("https://1.2.3.4.5/", TRUE);
    url_bad("https://example.123/", TRUE);
}

static void test_url_refusals(void)
{
    url_bad("https://user:pass@api.example.com/v1", FALSE);
    url_bad("https://user:pass@api.example.com/v1", TRUE);
    url_bad("https://user@api.example.com/", TRUE);
    url_bad("https://:pass@api.example.com/", TRUE);
    url_bad("https://@api.example.com/", TRUE);
    url_bad("https://u;opt@api.example.com/", TRUE);
    url_bad("https://api.example.com/v1?key=x", TRUE);
    url_bad("https://api.example.com/v1?", TRUE);
    url_bad("https://api.example.com/v1#frag", TRUE);
    url_bad("https://api.example.com/v1#", TRUE);
    url_bad("https://localhost/v1", FALSE);
    url_bad("https://LOCALHOST/v1", FALSE);
    url_bad("https://localhost./v1", FALSE);
    url_bad("https://api.localhost/v1", FALSE);
    url_ok("http://localhost:11434/v1", TRUE, "http://localhost:11434/v1");
    url_ok("https://notlocalhost.com/v1", FALSE, "https://notlocalhost.com/v1");
    url_bad("https://api.example.com:0/", TRUE);
    url_bad("https://api.example.com:65536/", TRUE);
    url_bad("https://api.example.com/a b", TRUE);
    url_bad("https://api.example.com/\n", TRUE);
    url_bad(" https://api.example.com/", TRUE);
    url_bad("https://exa\tmple.com/", TRUE);
    url_bad("https://ex\xc3\xa4mple.com/", TRUE);
    url_bad("https://exa%00mple.com/", TRUE);
    url_bad("https://%31%32%37.0.0.1/", TRUE);
    url_bad("https://ex%61mple.com/", TRUE);
    url_ok("https://example.com/a%20b/", FALSE, "https://example.com/a%20b");
    url_bad("https://exa mple.com/", TRUE);
    url_bad("https://[::1/", TRUE);
    url_bad("https://[zz::1]/", TRUE);
    url_bad("https://exa$mple.com/", TRUE);

    /* the error never repeats a password */
    GError *err = NULL;
    char *out = NULL;
    g_assert_cmpint(gw_base_url_check("https://bob:hunter2@example.com/", TRUE, &out, &err), ==,
                    GW_EINVAL);
    g_assert_null(strstr(err->message, "hunter2"));
    g_clear_error(&err);

    /* hostile sizes */
    gsize n = 1024 * 1024;
    char *huge = g_malloc(n + 1);
    memset(huge, 'a', n);
    memcpy(huge, "https://", 8);
    huge[n] = '\0';
    url_bad(huge, TRUE);
    g_free(huge);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/netaddr/private", test_private);
    g_test_add_func("/netaddr/url/basic", test_url_basic);
    g_test_add_func("/netaddr/url/ip_forms", test_url_ip_forms);
    g_test_add_func("/netaddr/url/refusals", test_url_refusals);
    return g_test_run();
}
