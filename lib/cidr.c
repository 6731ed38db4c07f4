/* cidr.c — IP address parsing (libc inet_pton does the address syntax; this file only peels
 * brackets and ports) and CIDR range lists. */
#include "config.h"
#include "cidr.h"

#include <arpa/inet.h>
#include <string.h>

/* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" is 53 bytes; anything longer is junk. */
#define IP_TEXT_MAX 64
/* A list entry is an address plus "/128". */
#define CIDR_ENTRY_MAX (INET6_ADDRSTRLEN + 4)
/* How much of a bad entry an error message echoes. */
#define CIDR_ECHO_MAX 80

typedef struct {
    GwIp net;      /* host bits cleared */
    guint prefix;
} GwCidr;

struct GwCidrList {
    GArray *ranges; /* GwCidr */
};

static const guint8 v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* s is NUL-terminated, without brackets or port. Mapped addresses are left as AF_INET6 here so
 * the CIDR parser can adjust their prefix. */
static gboolean parse_plain(const char *s, GwIp *out)
{
    memset(out, 0, sizeof *out);
    /* inet_pton refuses zone ids, whitespace and non-dotted IPv4 forms (010.1, 0x7f.1). */
    if (strchr(s, ':') != NULL) {
        if (inet_pton(AF_INET6, s, out->addr) != 1)
            return FALSE;
        out->family = AF_INET6;
    } else {
        if (inet_pton(AF_INET, s, out->addr) != 1)
            return FALSE;
        out->family = AF_INET;
    }
    return TRUE;
}

static gboolean is_v4mapped(const GwIp *ip)
{
    return ip->family == AF_INET6 && memcmp(ip->addr, v4mapped_prefix, 12) == 0;
}

/* ::ffff:a.b.c.d → a.b.c.d, so that a dual-stack socket's view of an IPv4 peer and the same
 * address written as IPv4 compare equal. */
static void normalize_mapped(GwIp *ip)
{
    if (!is_v4mapped(ip))
        return;
    guint8 v4[4];
    memcpy(v4, ip->addr + 12, 4);
    memset(ip->addr, 0, sizeof ip->addr);
    memcpy(ip->addr, v4, 4);
    ip->family = AF_INET;
}

/* 1-5 decimal digits, ≤ 65535. */
static gboolean port_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return FALSE;
    guint v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint)(s[i] - '0');
    }
    return v <= 65535;
}

gboolean gw_ip_parse(const char *text, size_t len, GwIp *out)
{
    char buf[IP_TEXT_MAX + 1];
    gboolean ok = FALSE;

    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0 || len > IP_TEXT_MAX || memchr(text, '\0', len) != NULL)
        return FALSE;
    memcpy(buf, text, len);
    buf[len] = '\0';

    if (buf[0] == '[') {
        /* Brackets are for IPv6 only; after ']' comes nothing or ":port". */
        char *close = strchr(buf, ']');
        if (close == NULL)
            return FALSE;
        *close = '\0';
        const char *rest = close + 1;
        if (*rest == ':')
            ok = port_ok(rest + 1);
        else
            ok = *rest == '\0';
        ok = ok && strchr(buf + 1, ':') != NULL && parse_plain(buf + 1, out);
    } else {
        char *colon = strchr(buf, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            /* Exactly one ':' can only be IPv4:port (IPv6 has at least two). */
            *colon = '\0';
            ok = port_ok(colon + 1) && strchr(buf, ':') == NULL && parse_plain(buf, out);
        } else {
            ok = parse_plain(buf, out);
        }
    }
    if (!ok) {
        memset(out, 0, sizeof *out);
        return FALSE;
    }
    normalize_mapped(out);
    return TRUE;
}

gboolean gw_ip_format(const GwIp *ip, char out[INET6_ADDRSTRLEN])
{
    out[0] = '\0';
    if (ip == NULL || (ip->family != AF_INET && ip->family != AF_INET6))
        return FALSE;
    if (inet_ntop(ip->family, ip->addr, out, INET6_ADDRSTRLEN) == NULL) {
        out[0] = '\0';
        return FALSE;
    }
    return TRUE;
}

gboolean gw_ip_equal(const GwIp *a, const GwIp *b)
{
    if (a == NULL || b == NULL || a->family != b->family)
        return FALSE;
    size_t n = a->family == AF_INET ? 4 : 16;
    return memcmp(a->addr, b->addr, n) == 0;
}

/* Clears the bits of ip below prefix. */
static void mask_host_bits(GwIp *ip, guint prefix)
{
    guint nbytes = ip->family == AF_INET ? 4 : 16;
    for (guint i = 0; i < nbytes; i++) {
        guint bit = i * 8;
        if (bit >= prefix)
            ip->addr[i] = 0;
        else if (prefix - bit < 8)
            ip->addr[i] &= (guint8)(0xff << (8 - (prefix - bit)));
    }
}

static gboolean prefix_matches(const GwCidr *c, const GwIp *ip)
{
    if (c->net.family != ip->family)
        return FALSE;
    guint full = c->prefix / 8, rem = c->prefix % 8;
    if (memcmp(c->net.addr, ip->addr, full) != 0)
        return FALSE;
    if (rem == 0)
        return TRUE;
    guint8 mask = (guint8)(0xff << (8 - rem));
    return (c->net.addr[full] & mask) == (ip->addr[full] & mask);
}

/* Parses one NUL-terminated entry into *out. */
static gboolean parse_entry(char *entry, GwCidr *out)
{
    char *slash = strchr(entry, '/');
    gboolean have_prefix = slash != NULL;
    guint prefix = 0;

    if (have_prefix) {
        *slash = '\0';
        const char *p = slash + 1;
        size_t n = strlen(p);
        if (n == 0 || n > 3)
            return FALSE;
        for (size_t i = 0; i < n; i++) {
            if (!g_ascii_isdigit(p[i]))
                return FALSE;
            prefix = prefix * 10 + (guint)(p[i] - '0');
        }
    }
    if (!parse_plain(entry, &out->net))
        return FALSE;

    guint max = out->net.family == AF_INET ? 32 : 128;
    if (!have_prefix)
        prefix = max;
    if (prefix > max)
        return FALSE;
    if (is_v4mapped(&out->net)) {
        /* Addresses are normalised to IPv4 before lookup, so the range must be too. */
        if (prefix < 96)
            return FALSE;
        normalize_mapped(&out->net);
        prefix -= 96;
    }
    mask_host_bits(&out->net, prefix);
    out->prefix = prefix;
    return TRUE;
}

static gboolean is_separator(char c)
{
    return c == ',' || g_ascii_isspace(c);
}

GwStatus gw_cidr_list_parse(const char *spec, GwCidrList **out, GError **err)
{
    GwCidrList *l = g_new0(GwCidrList, 1);
    l->ranges = g_array_new(FALSE, TRUE, sizeof(GwCidr));
    *out = NULL;

    const char *p = spec != NULL ? spec : "";
    while (*p != '\0') {
        while (*p != '\0' && is_separator(*p))
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p != '\0' && !is_separator(*p))
            p++;
        size_t n = (size_t)(p - start);

        char buf[CIDR_ENTRY_MAX + 1];
        GwCidr c;
        gboolean ok = n <= CIDR_ENTRY_MAX;
        if (ok) {
            memcpy(buf, start, n);
            buf[n] = '\0';
            ok = parse_entry(buf, &c);
        }
        if (!ok) {
            /* Escaped and cut: the entry may hold any bytes. */
            char *cut = g_strndup(start, MIN(n, (size_t)CIDR_ECHO_MAX));
            char *esc = g_strescape(cut, NULL);
            gw_fail(err, GW_EINVAL, "invalid CIDR entry '%s%s'", esc,
                    n > CIDR_ECHO_MAX ? "..." : "");
            g_free(esc);
            g_free(cut);
            gw_cidr_list_free(l);
            return GW_EINVAL;
        }
        g_array_append_val(l->ranges, c);
    }
    *out = l;
    return GW_OK;
}

gboolean gw_cidr_list_contains(const GwCidrList *l, const GwIp *ip)
{
    if (l == NULL || ip == NULL)
        return FALSE;
    for (guint i = 0; i < l->ranges->len; i++)
        if (prefix_matches(&g_array_index(l->ranges, GwCidr, i), ip))
            return TRUE;
    return FALSE;
}

guint gw_cidr_list_size(const GwCidrList *l)
{
    return l != NULL ? l->ranges->len : 0;
}

void gw_cidr_list_free(GwCidrList *l)
{
    if (l == NULL)
        return;
    g_array_free(l->ranges, TRUE);
    g_free(l);
}
