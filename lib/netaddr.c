/* netaddr.c — which addresses and base URLs the gateway may connect to (SSRF guard). URLs are
 * parsed with libcurl's URL API, the same parser that later makes the connection, so the
 * check and the use cannot disagree about what the host is. */
#include "config.h"
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <curl/curl.h>

/* Base URLs are operator input of ordinary size. */
#define URL_MAX_BYTES 2048

/* addr in host byte order. */
static gboolean v4_in(guint32 addr, guint32 net, int prefix)
{
    guint32 mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    return (addr & mask) == net;
}

static gboolean v4_is_private(guint32 a)
{
    static const struct {
        guint32 net;
        int prefix;
    } ranges[] = {
        {0x00000000, 8},  /* 0/8 "this network", incl. 0.0.0.0 */
        {0x0a000000, 8},  /* 10/8 */
        {0x64400000, 10}, /* 100.64/10 CGNAT */
        {0x7f000000, 8},  /* 127/8 loopback */
        {0xa9fe0000, 16}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 12}, /* 172.16/12 */
        {0xc0000000, 24}, /* 192.0.0/24 IETF protocol assignments */
        {0xc0000200, 24}, /* 192.0.2/24 TEST-NET-1 */
        {0xc0586300, 24}, /* 192.88.99/24 6to4 relay anycast */
        {0xc0a80000, 16}, /* 192.168/16 */
        {0xc6120000, 15}, /* 198.18/15 benchmarking */
        {0xc6336400, 24}, /* 198.51.100/24 TEST-NET-2 */
        {0xcb007100, 24}, /* 203.0.113/24 TEST-NET-3 */
        {0xe0000000, 4},  /* 224/4 multicast */
        {0xf0000000, 4},  /* 240/4 reserved, incl. 255.255.255.255 broadcast */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ranges); i++)
        if (v4_in(a, ranges[i].net, ranges[i].prefix))
            return TRUE;
    return FALSE;
}

static guint32 be32_at(const guint8 *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static gboolean v6_is_private(const guint8 a[16])
{
    static const guint8 zero[12] = {0};
    static const guint8 mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const guint8 translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    static const guint8 nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

    /* Forms that carry an IPv4 address in the low 32 bits reach that address: judge it.
     * ::/96 (compatible; also covers :: and ::1), ::ffff:0:0/96 (mapped),
     * ::ffff:0:0:0/96 (SIIT translated), 64:ff9b::/96 (NAT64 well-known prefix). */
    if (memcmp(a, zero, 12) == 0 || memcmp(a, mapped, 12) == 0 ||
        memcmp(a, translated, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_is_private(be32_at(a + 12));
    /* 2002::/16 6to4 embeds the IPv4 address in bits 16..47. */
    if (a[0] == 0x20 && a[1] == 0x02)
        return v4_is_private(be32_at(a + 2));
    /* Public unicast is 2000::/3 only. Everything else is private, link-local (fe80::/10),
     * unique-local (fc00::/7), site-local, multicast (ff00::/8), discard (100::/64), the local
     * NAT64 prefix 64:ff9b:1::/48, or unassigned. */
    if ((a[0] & 0xe0) != 0x20)
        return TRUE;
    /* Special ranges inside 2000::/3. */
    if (a[0] == 0x20 && a[1] == 0x01) {
        if (a[2] == 0x0d && a[3] == 0xb8)
            return TRUE; /* 2001:db8::/32 documentation */
        if (a[2] == 0x00 && a[3] == 0x00)
            return TRUE; /* 2001::/32 Teredo: the real endpoint is hidden */
        if (a[2] == 0x00 && a[3] == 0x02 && a[4] == 0x00 && a[5] == 0x00)
            return TRUE; /* 2001:2::/48 benchmarking */
    }
    if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0x00)
        return TRUE; /* 3fff::/20 documentation (RFC 9637) */
    return FALSE;
}

gboolean gw_addr_is_private(const struct sockaddr *sa)
{
    if (sa == NULL)
        return TRUE;
    /* Copy out rather than cast: callers may hand in byte buffers without sockaddr alignment. */
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        return v4_is_private(ntohl(sin.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        return v6_is_private(sin6.sin6_addr.s6_addr);
    }
    return TRUE; /* AF_UNIX and the like are never an upstream */
}

/* ---- base URLs ---- */

/* Result of looking at a host string. */
typedef enum { HOST_NAME, HOST_PRIVATE_IP, HOST_PUBLIC_IP, HOST_BAD } HostKind;

/* Classifies the host as curl normalised it (lower-cased copy, IPv6 still in brackets). */
static HostKind classify_host(const char *host)
{
    size_t n = strlen(host);
    if (n == 0)
        return HOST_BAD;
    if (host[0] == '[') {
        if (n < 3 || host[n - 1] != ']')
            return HOST_BAD;
        char *lit = g_strndup(host + 1, n - 2);
        struct in6_addr a6;
        int ok = inet_pton(AF_INET6, lit, &a6);
        g_free(lit);
        if (ok != 1)
            return HOST_BAD;
        return v6_is_private(a6.s6_addr) ? HOST_PRIVATE_IP : HOST_PUBLIC_IP;
    }
    /* A name: letters, digits, '-', '_', '.'. curl already decoded %XX and rejects most junk,
     * but be explicit about what reaches the resolver. */
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (!g_ascii_isalnum(c) && c != '-' && c != '_' && c != '.')
            return HOST_BAD;
    }
    /* "1.2.3.4." resolves like "1.2.3.4": judge it without the root dot. */
    char *h = g_strndup(host, host[n - 1] == '.' ? n - 1 : n);
    HostKind kind = HOST_NAME;
    struct in_addr a4;
    /* inet_pton takes dotted quads; inet_aton also takes what libc's resolver does for numeric
     * hosts (2130706433, 0x7f000001, 0177.0.0.1, 127.1). curl normalises these itself, this is
     * the second line. */
    if (inet_pton(AF_INET, h, &a4) == 1 || inet_aton(h, &a4) != 0) {
        kind = v4_is_private(ntohl(a4.s_addr)) ? HOST_PRIVATE_IP : HOST_PUBLIC_IP;
    } else {
        /* No top-level domain starts with a digit: "999.1.1.1" or "4294967296" is a broken
         * address, not a name. */
        const char *last = strrchr(h, '.');
        last = last != NULL ? last + 1 : h;
        if (*last == '\0' || g_ascii_isdigit(*last))
            kind = HOST_BAD;
    }
    g_free(h);
    return kind;
}

static gboolean is_localhost(const char *host)
{
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--; /* "localhost." is the same name */
    if (n == 9 && strncmp(host, "localhost", 9) == 0)
        return TRUE;
    return n > 10 && strncmp(host + n - 10, ".localhost", 10) == 0;
}

/* The URL part, or NULL when absent or on error. Caller frees with curl_free. */
static char *url_part(CURLU *u, CURLUPart part, unsigned flags)
{
    char *s = NULL;
    if (curl_url_get(u, part, &s, flags) != CURLUE_OK)
        return NULL;
    return s;
}

GwStatus gw_base_url_check(const char *url, gboolean allow_private, char **normalized_out,
                           GError **err)
{
    if (url == NULL || *url == '\0')
        return gw_fail(err, GW_EINVAL, "base URL is empty");
    size_t len = strnlen(url, URL_MAX_BYTES + 1);
    if (len > URL_MAX_BYTES)
        return gw_fail(err, GW_EINVAL, "base URL is longer than %d bytes", URL_MAX_BYTES);
    /* The URL is never echoed back: it might carry a password. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return gw_fail(err, GW_EINVAL,
                           "base URL may contain only printable ASCII characters without spaces "
                           "(percent-encode the rest, use punycode for host names)");
    }
    /* Checked on the raw text: curl silently drops an empty "?" or "#". */
    if (strchr(url, '?') != NULL)
        return gw_fail(err, GW_EINVAL, "base URL must not contain a query (?)");
    if (strchr(url, '#') != NULL)
        return gw_fail(err, GW_EINVAL, "base URL must not contain a fragment (#)");
    /* curl reads "https:///x" as host "x": insist on an authority right after "//". */
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep[3] == '/' || sep[3] == '\\')
        return gw_fail(err, GW_EINVAL, "base URL must look like https://host[:port][/path]");

    CURLU *u = curl_url();
    if (u == NULL)
        g_error("curl_url: out of memory");
    GwStatus st = GW_OK;
    char *scheme = NULL, *host = NULL, *port = NULL, *zone = NULL, *part = NULL, *norm = NULL;
    char *lhost = NULL;

    /* No default or guessed scheme: it must be spelled out. */
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
#if LIBCURL_VERSION_NUM >= 0x075000 /* curl_url_strerror: 7.80 */
        st = gw_fail(err, GW_EINVAL, "base URL is not a valid URL: %s", curl_url_strerror(rc));
#else
        st = gw_fail(err, GW_EINVAL, "base URL is not a valid URL (curl URL error %d)", (int)rc);
#endif
        goto out;
    }
    scheme = url_part(u, CURLUPART_SCHEME, 0);
    if (scheme == NULL || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
        st = gw_fail(err, GW_EINVAL, "base URL scheme must be https%s",
                     allow_private ? " or http" : "");
        goto out;
    }
    if (!allow_private && strcmp(scheme, "https") != 0) {
        st = gw_fail(err, GW_EINVAL,
                     "base URL must use https (plain http needs allow_private upstreams)");
        goto out;
    }
    /* Present but empty ("https://@host") counts too. */
    if ((part = url_part(u, CURLUPART_USER, 0)) != NULL ||
        (part = url_part(u, CURLUPART_PASSWORD, 0)) != NULL ||
        (part = url_part(u, CURLUPART_OPTIONS, 0)) != NULL) {
        st = gw_fail(err, GW_EINVAL,
                     "base URL must not contain a user name or password (use the provider "
                     "key's secret)");
        goto out;
    }
    if ((part = url_part(u, CURLUPART_QUERY, 0)) != NULL) {
        st = gw_fail(err, GW_EINVAL, "base URL must not contain a query (?)");
        goto out;
    }
    if ((part = url_part(u, CURLUPART_FRAGMENT, 0)) != NULL) {
        st = gw_fail(err, GW_EINVAL, "base URL must not contain a fragment (#)");
        goto out;
    }
    if ((port = url_part(u, CURLUPART_PORT, 0)) != NULL && strcmp(port, "0") == 0) {
        st = gw_fail(err, GW_EINVAL, "base URL port must be 1..65535");
        goto out;
    }

    host = url_part(u, CURLUPART_HOST, 0);
    if (host == NULL) {
        st = gw_fail(err, GW_EINVAL, "base URL has no host");
        goto out;
    }
    /* Percent-encoded host names are an obfuscation trick, not something an operator needs;
     * the only '%' allowed in the authority is an IPv6 zone ("[fe80::1%25eth0]"). */
    const char *auth_end = strchr(sep + 3, '/');
    if (host[0] != '[' && memchr(sep + 3, '%', auth_end ? (size_t)(auth_end - (sep + 3))
                                                        : strlen(sep + 3)) != NULL) {
        st = gw_fail(err, GW_EINVAL, "base URL host must not be percent-encoded");
        goto out;
    }
    lhost = g_ascii_strdown(host, -1);
    zone = url_part(u, CURLUPART_ZONEID, 0);
    HostKind kind = classify_host(lhost);
    if (kind == HOST_BAD) {
        st = gw_fail(err, GW_EINVAL, "base URL host \"%s\" is not a valid host name or address",
                     lhost);
        goto out;
    }
    if (!allow_private) {
        if (kind == HOST_PRIVATE_IP) {
            st = gw_fail(err, GW_EINVAL,
                         "base URL host %s is a private, loopback or reserved address "
                         "(allowed only with allow_private upstreams)",
                         lhost);
            goto out;
        }
        if (is_localhost(lhost)) {
            st = gw_fail(err, GW_EINVAL,
                         "base URL host %s is local (allowed only with allow_private upstreams)",
                         lhost);
            goto out;
        }
        /* A zone id only makes sense on a link-local address, refused above; be explicit. */
        if (zone != NULL) {
            st = gw_fail(err, GW_EINVAL, "base URL must not name an IPv6 zone");
            goto out;
        }
    }

    /* Canonical form: lower-case host, default port dropped, dot segments resolved by curl. */
    /* Setting the host drops the zone id: put it back. */
    if (curl_url_set(u, CURLUPART_HOST, lhost, 0) != CURLUE_OK ||
        (zone != NULL && curl_url_set(u, CURLUPART_ZONEID, zone, 0) != CURLUE_OK) ||
        (norm = url_part(u, CURLUPART_URL, CURLU_NO_DEFAULT_PORT)) == NULL) {
        st = gw_fail(err, GW_EINVAL, "base URL cannot be normalised");
        goto out;
    }
    size_t nl = strlen(norm);
    /* Request paths are appended with their own leading '/'. */
    while (nl > 0 && norm[nl - 1] == '/')
        nl--;
    *normalized_out = g_strndup(norm, nl);

out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(zone);
    curl_free(part);
    curl_free(norm);
    g_free(lhost);
    curl_url_cleanup(u);
    return st;
}
